/**
 * Any OpenAI-compatible chat completions server (vLLM, TGI, llama.cpp, Ollama, OpenAI itself), streamed, over
 * one of two transports with the same behaviour and error codes:
 * - `http`: our lean client (sse-http-client.ts with openai-framing.ts), the default for self-hosted servers,
 *   where the transport's CPU is on every token's path (docs/adr/0009-lean-transport-for-self-hosted-servers.md);
 * - `sdk`: the official `openai` SDK, the default for `api.openai.com`, whose API it follows as it changes. It is
 *   loaded on first use.
 */
import type { TargetConfig } from '@parley/config';
import { ParleyError } from '@parley/contracts';
import { chunkEvents, openAISseFraming, type ChatChunkLike } from './openai-framing.js';
import {
  DEFAULT_SESSION_HEADER,
  upstreamHeaders,
  type ChatProvider,
  type GenerateInput,
  type ProviderEvent,
} from './provider.js';
import { SseHttpClient } from './sse-http-client.js';
import { MODEL_SERVER, upstreamStatusError } from './upstream-errors.js';

/** The client a target is reached with, as its routing file names it. */
export type OpenAITransport = NonNullable<Extract<TargetConfig, { provider: 'openai-compatible' }>['transport']>;

/** `sdk` for OpenAI's own API, `http` for every other server. */
export function defaultTransport(baseUrl: string): OpenAITransport {
  return new URL(baseUrl).hostname === 'api.openai.com' ? 'sdk' : 'http';
}

/** One OpenAI-compatible target's settings. */
export interface OpenAICompatibleOptions {
  baseUrl: string;
  apiKey?: string;
  name?: string;
  /** Time allowed to connect and receive the response headers. */
  requestTimeoutMs: number;
  /**
   * The header carrying the conversation id, so a session-aware router (vLLM production-stack's
   * `--session-key`) keeps a conversation on the replica whose prefix cache holds it.
   */
  sessionHeader?: string;
  /** Unset: {@link defaultTransport}. */
  transport?: OpenAITransport;
}

type Streamer = (body: object, headers: Record<string, string>, signal: AbortSignal) => AsyncIterable<ChatChunkLike>;

/** Streams chat completions from one OpenAI-compatible server over its transport. */
export class OpenAICompatibleProvider implements ChatProvider {
  readonly system = 'openai';
  readonly name: string;
  readonly transport: OpenAITransport;
  private readonly sessionHeader: string;
  private readonly streamer: () => Streamer | Promise<Streamer>;

  constructor({
    baseUrl,
    apiKey,
    name = 'openai-compatible',
    requestTimeoutMs,
    sessionHeader = DEFAULT_SESSION_HEADER,
    transport = defaultTransport(baseUrl),
  }: OpenAICompatibleOptions) {
    this.name = name;
    this.sessionHeader = sessionHeader;
    this.transport = transport;
    if (transport === 'http') {
      const client = new SseHttpClient({
        url: new URL(`${baseUrl.replace(/\/+$/, '')}/chat/completions`),
        headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
        requestTimeoutMs,
        upstream: MODEL_SERVER,
        framing: openAISseFraming,
      });
      const streamer: Streamer = (body, headers, signal) => client.stream(body, headers, signal);
      this.streamer = () => streamer;
    } else {
      let loaded: Promise<Streamer> | undefined;
      this.streamer = () => (loaded ??= sdkStreamer({ baseUrl, apiKey, requestTimeoutMs }));
    }
  }

  stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    const headers = upstreamHeaders(input, this.sessionHeader);
    // The sampling parameters have OpenAI's names.
    const body = {
      ...input.params,
      model: input.model,
      messages: input.messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    return chunkEvents(async () => (await this.streamer())(body, headers, input.signal), {
      signal: input.signal,
      toError: (error) =>
        error instanceof ParleyError
          ? error
          : new ParleyError('upstream_error', `${MODEL_SERVER} stream failed`, { cause: error }),
    });
  }
}

/** The `openai` SDK as a streamer whose failures are already `ParleyError`s. */
async function sdkStreamer({
  baseUrl,
  apiKey,
  requestTimeoutMs,
}: {
  baseUrl: string;
  apiKey?: string;
  requestTimeoutMs: number;
}): Promise<Streamer> {
  const { default: OpenAI, APIConnectionError, APIError, APIUserAbortError } = await import('openai');
  // vLLM without --api-key accepts any key; the SDK insists on one. Retries are the target guard's, not the SDK's.
  const client = new OpenAI({ baseURL: baseUrl, apiKey: apiKey ?? 'none', maxRetries: 0, timeout: requestTimeoutMs });
  const toParleyError = (error: unknown): ParleyError => {
    if (error instanceof APIUserAbortError) return new ParleyError('upstream_error', 'upstream request aborted');
    if (error instanceof APIConnectionError) {
      return new ParleyError('upstream_error', `could not reach ${MODEL_SERVER}`, { cause: error });
    }
    if (error instanceof APIError) {
      return upstreamStatusError(error.status, {
        upstream: MODEL_SERVER,
        retryAfter: error.headers?.get('retry-after'),
      });
    }
    return new ParleyError('upstream_error', `${MODEL_SERVER} stream failed`, { cause: error });
  };
  return async function* (body, headers, signal) {
    try {
      const stream = await client.chat.completions.create(
        body as Parameters<typeof client.chat.completions.create>[0] & { stream: true },
        { signal, headers },
      );
      yield* stream;
    } catch (error) {
      throw toParleyError(error);
    }
  };
}
