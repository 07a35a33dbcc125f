import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  DEFAULT_MAX_RECORDS,
  describeIssue,
  resolveSimConfig,
  SimConfigError,
  SimKnobsPatchSchema,
  type SimConfig,
  type SimKnobs,
  type SimKnobsPatch,
} from './config.js';
import { handleChatCompletion } from './completions.js';
import { handleEmbeddings, handleFeatureExtraction } from './embeddings.js';
import { controlRoutes, type RouteHandler, type Routes } from './control.js';
import { HttpError, sendEmpty, sendJson } from './http.js';
import { SimMetrics } from './metrics.js';
import { errorBody, modelList } from './openai-format.js';
import { recordHeaders, RequestLog, RequestStatus, type SimRequestRecord } from './records.js';
import { SimState } from './state.js';

/** Options for {@link startLlmSim}: any field of the configuration, defaults for the rest. */
export interface LlmSimOptions extends Partial<SimConfig> {
  /** Recorded requests kept; older ones are dropped. */
  maxRecords?: number;
}

/** A running simulator. */
export interface LlmSim {
  /** The origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** `${url}/v1`: what the `openai` client takes as `baseURL`. */
  readonly openaiBaseUrl: string;
  /** The bound port; the ephemeral one when started with port 0. */
  readonly port: number;
  /** The current knobs, as `GET /sim/config` returns them. */
  config(): SimKnobs;
  /**
   * Changes knobs like `PUT /sim/config`.
   * @throws SimConfigError when the update is invalid.
   */
  configure(patch: SimKnobsPatch): SimKnobs;
  /** The recorded chat completion and embedding requests, oldest first, as `GET /sim/requests` returns them. */
  requests(): SimRequestRecord[];
  clearRequests(): void;
  /** Stops listening, drops open streams and idle connections; resolves when the server has closed. */
  close(): Promise<void>;
}

const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';
const EMBEDDINGS_PATH = '/v1/embeddings';

/**
 * Starts an OpenAI-compatible upstream that answers like vLLM's OpenAI server, for tests and benchmarks.
 *
 * @throws SimConfigError when an option is invalid.
 * @example
 * const sim = await startLlmSim({ port: 0, ttftMs: 1, interTokenMs: 1 });
 * const openai = new OpenAI({ baseURL: sim.openaiBaseUrl, apiKey: 'unused' });
 * await sim.close();
 */
export async function startLlmSim(options: LlmSimOptions = {}): Promise<LlmSim> {
  const { maxRecords = DEFAULT_MAX_RECORDS, ...configOptions } = options;
  if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new SimConfigError('maxRecords: expected an integer >= 1');
  const { host, port, ...knobs } = resolveSimConfig(configOptions);
  const state = new SimState(knobs);
  const log = new RequestLog(maxRecords);
  const openResponses = new Set<ServerResponse>();
  const startedAtSeconds = Math.floor(Date.now() / 1000);
  const metrics = new SimMetrics(
    () => openResponses.size,
    () => state.knobs.model,
  );

  const connections = new WeakMap<Socket, number>();
  let opened = 0;
  const connectionOf = (socket: Socket) => {
    let n = connections.get(socket);
    if (n === undefined) connections.set(socket, (n = ++opened));
    return n;
  };

  /**
   * A recorded request: its record is kept up to date as the response goes (completed, aborted by the client,
   * or faulted), and `signal` aborts when the connection closes, which stops every timer of the request.
   */
  const recorded =
    (
      path: string,
      idPrefix: string,
      handle: (ctx: {
        req: IncomingMessage;
        res: ServerResponse;
        signal: AbortSignal;
        record: SimRequestRecord;
        closingOnPurpose: () => void;
      }) => Promise<void>,
    ): RouteHandler =>
    async (req, res) => {
      const controller = new AbortController();
      const record = log.add({
        id: `${idPrefix}-${randomUUID().replaceAll('-', '')}`,
        receivedAt: Date.now(),
        path,
        connection: connectionOf(req.socket),
        body: null,
        headers: recordHeaders(req.headers),
        status: RequestStatus.streaming,
        aborted: false,
        httpStatus: null,
        fault: null,
        completionTokens: 0,
      });
      let closingOnPurpose = false;
      openResponses.add(res);
      res.once('close', () => {
        openResponses.delete(res);
        controller.abort();
        record.httpStatus = res.headersSent ? res.statusCode : null;
        if (res.writableFinished) {
          if (record.status === RequestStatus.streaming) record.status = RequestStatus.completed;
        } else if (!closingOnPurpose) {
          record.aborted = true;
          if (record.status === RequestStatus.streaming) record.status = RequestStatus.aborted;
        }
      });
      await handle({
        req,
        res,
        signal: controller.signal,
        record,
        closingOnPurpose: () => {
          closingOnPurpose = true;
        },
      });
    };

  const routes: Routes = {
    '/health': { GET: (_req, res) => sendEmpty(res, 200) },
    '/v1/models': { GET: (_req, res) => sendJson(res, 200, modelList(state.knobs.model, startedAtSeconds)) },
    '/metrics': {
      GET: async (_req, res) => {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
      },
    },
    [CHAT_COMPLETIONS_PATH]: {
      POST: recorded(CHAT_COMPLETIONS_PATH, 'chatcmpl', (ctx) => handleChatCompletion({ ...ctx, state, metrics })),
    },
    [EMBEDDINGS_PATH]: { POST: recorded(EMBEDDINGS_PATH, 'embd', (ctx) => handleEmbeddings({ ...ctx, state })) },
    // Text Embeddings Inference's route: where Hugging Face's feature extraction posts to a dedicated endpoint.
    '/': { POST: recorded('/', 'embd', (ctx) => handleFeatureExtraction({ ...ctx, state })) },
    ...controlRoutes(state, log),
  };

  const server = createServer((req, res) => {
    dispatch(routes, req, res).catch((error: unknown) => answerError(res, error));
  });
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const boundPort = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    port: boundPort,
    config: () => state.knobs,
    configure: (patch) => {
      const parsed = SimKnobsPatchSchema.safeParse(patch);
      if (!parsed.success) throw new SimConfigError(describeIssue(parsed.error), { cause: parsed.error });
      return state.update(parsed.data);
    },
    requests: () => log.list(),
    clearRequests: () => log.clear(),
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // Open streams (stalls included) would keep close() waiting forever; end them and the idle keep-alives.
        for (const res of openResponses) res.destroy();
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function dispatch(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const methods = routes[path];
  if (methods === undefined) {
    throw new HttpError(404, errorBody({ message: `No route for ${req.method} ${path}.`, code: 'not_found' }));
  }
  const handler = methods[req.method ?? 'GET'];
  if (handler === undefined) {
    res.setHeader('allow', Object.keys(methods).join(', '));
    throw new HttpError(
      405,
      errorBody({ message: `Method ${req.method} is not allowed on ${path}.`, code: 'method_not_allowed' }),
    );
  }
  await handler(req, res);
}

// The one place errors become responses. Once a response has started, or the client is gone, all that is left
// is to drop the connection.
function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    sendJson(res, error.status, error.body);
    return;
  }
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'llm-sim request failed', error: String(error) })}\n`);
  sendJson(res, 500, errorBody({ message: 'Internal simulator error.', type: 'server_error', code: 'internal_error' }));
}
