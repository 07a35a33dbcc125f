/**
 * Server-sent events over keep-alive HTTP: POSTs a JSON body with `node:http(s)` on kept-alive sockets and yields
 * the events `eventsource-parser` reads from the response, decoded by the wire format's framing. It knows no
 * wire format. Self-hosted model servers (vLLM, TGI, llama.cpp, Ollama) are reached this way unless a target
 * asks for the `openai` SDK: per streamed reply it costs the inference process about 30 % less CPU
 * (docs/adr/0009-lean-transport-for-self-hosted-servers.md).
 *
 * Every failure is a `ParleyError` (an HTTP status as upstream-errors.ts maps it, anything else
 * `upstream_error`), and an abort through the signal destroys the request, so the server sees the client leave
 * and frees the slot.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { ParleyError } from '@parley/contracts';
import { proxyEnvironment } from '@parley/config';
import { upstreamStatusError } from './upstream-errors.js';

/**
 * Idle sockets are closed before common servers close them (uvicorn, which serves vLLM, after 5 s), so a request
 * is not sent on a socket the server is closing. A server's `Keep-Alive: timeout=` hint shortens it further.
 */
const IDLE_SOCKET_MS = 4_000;
/** Longest server-sent event accepted, in characters; a chat chunk is a few hundred. */
const MAX_EVENT_CHARS = 1_000_000;
/** After the last event the rest of the response is read so the socket can be reused; a server that holds it loses it. */
const DRAIN_MS = 1_000;

/** How a wire format reads its events: which one ends the reply, and what the others carry. */
export interface SseFraming<T> {
  /** True for the event after which nothing more is read; the response is then drained for the socket's reuse. */
  isEnd(event: EventSourceMessage): boolean;
  /** One event's item; a `ParleyError` thrown here ends the stream with it. */
  decode(event: EventSourceMessage): T;
}

/** One server's event streams: where they are, how long it may take to answer, how they are framed. */
export interface SseHttpClientOptions<T> {
  url: URL;
  /** Headers sent with every request (e.g. `authorization`), over the request's own. */
  headers: Record<string, string>;
  /** Time allowed to connect and receive the response headers. */
  requestTimeoutMs: number;
  /** The server as error messages name it, e.g. `the upstream model server`. */
  upstream: string;
  framing: SseFraming<T>;
}

/** One server's event streams, one request at a time each, on a pool of kept-alive sockets. */
export class SseHttpClient<T> {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly headers: Record<string, string>;
  private readonly requestTimeoutMs: number;
  private readonly upstream: string;
  private readonly framing: SseFraming<T>;

  constructor({ url, headers, requestTimeoutMs, upstream, framing }: SseHttpClientOptions<T>) {
    const secure = url.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      scheduling: 'lifo' as const,
      timeout: IDLE_SOCKET_MS,
      // The proxy `fetch` (and so the SDK transport) would use: HTTP(S)_PROXY and NO_PROXY, under Node's switch.
      proxyEnv: proxyEnvironment(),
    };
    this.url = url;
    this.agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = secure ? httpsRequest : httpRequest;
    this.headers = headers;
    this.requestTimeoutMs = requestTimeoutMs;
    this.upstream = upstream;
    this.framing = framing;
  }

  /** POSTs `body` as JSON and yields each event's item until the framing's end event or the end of the response. */
  async *stream(body: object, headers: Record<string, string>, signal: AbortSignal): AsyncGenerator<T> {
    const { framing, upstream } = this;
    const res = await this.open(JSON.stringify(body), headers, signal);
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
      res.resume();
      throw upstreamStatusError(res.statusCode, { upstream, retryAfter: header(res, 'retry-after') });
    }
    if (!header(res, 'content-type')?.includes('text/event-stream')) {
      res.destroy();
      throw new ParleyError('upstream_error', `${upstream} did not answer with an event stream`);
    }
    const events: EventSourceMessage[] = [];
    let oversized: ParseError | undefined;
    const parser = createParser({
      onEvent: (event) => events.push(event),
      // Unknown fields and a bad `retry` are ignored, as the SSE spec says; only an event too large to hold ends
      // the stream.
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') oversized ??= error;
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
    let done = false;
    res.setEncoding('utf8');
    try {
      for await (const text of res.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
        parser.feed(text);
        if (oversized) {
          throw new ParleyError('upstream_error', `${upstream} sent an event over ${MAX_EVENT_CHARS} characters`);
        }
        for (const event of events) {
          if (framing.isEnd(event)) {
            done = true;
            break;
          }
          yield framing.decode(event);
        }
        events.length = 0;
        if (done) break;
      }
    } catch (error) {
      if (error instanceof ParleyError || signal.aborted) throw error;
      throw new ParleyError('upstream_error', `${upstream} broke off the stream`, { cause: error });
    } finally {
      if (!done && !res.readableEnded) res.destroy();
    }
    // The reply is complete; the response ends with it (usually in the same packet). Waiting for that end puts
    // the socket back in the pool before the caller's next request.
    if (!res.readableEnded) await drained(res);
  }

  /** Sends the request; resolves with the response once its headers are in. */
  private open(
    payload: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    retried = false,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.send(this.url, {
        method: 'POST',
        agent: this.agent,
        signal,
        headers: {
          ...headers,
          ...this.headers,
          accept: 'text/event-stream',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      });
      const timer = setTimeout(
        () =>
          req.destroy(
            new ParleyError('upstream_error', `${this.upstream} did not answer within ${this.requestTimeoutMs} ms`),
          ),
        this.requestTimeoutMs,
      );
      let answered = false;
      req.once('response', (res) => {
        answered = true;
        clearTimeout(timer);
        resolve(res);
      });
      // `on`, not `once`: a second error event without a listener would crash the process.
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (answered) return; // after the response started, its own stream reports the failure
        if (error instanceof ParleyError || signal.aborted) {
          reject(error);
        } else if (!retried && req.reusedSocket && error.code === 'ECONNRESET') {
          // A kept-alive socket the server closed as it was being reused: once more, on a new socket.
          resolve(this.open(payload, headers, signal, true));
        } else {
          reject(new ParleyError('upstream_error', `could not reach ${this.upstream}`, { cause: error }));
        }
      });
      req.end(payload);
    });
  }
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads what is left of a finished response, so its socket can be reused; destroys it if it lingers. */
function drained(res: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    // Already closed: no 'close' event is coming.
    if (res.destroyed) return resolve();
    const timer = setTimeout(() => res.destroy(), DRAIN_MS);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    res.resume();
  });
}
