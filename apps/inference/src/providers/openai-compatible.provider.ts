/**
 * Any OpenAI-compatible chat completions server (vLLM, TGI, llama.cpp, Ollama, OpenAI itself), streamed, over
 * one of two transports with the same behaviour and error codes:
 * - `http`: our lean client (sse-http-client.ts with openai-framing.ts), the default for self-hosted servers,
 *   where the transport's CPU is on every token's path (docs/adr/0009-lean-transport-for-self-hosted-servers.md);
 * - `sdk`: the official `openai` SDK, the default for `api.openai.com`, whose API it follows as it changes. It is
 *   loaded on first use.
 *
 * Embeddings (`POST {baseUrl}/embeddings`) always go through the SDK's `embeddings.create`: one request and one
 * reply, with no per-token path for a lean client to save CPU on.
 */
import type { TargetConfig } from '@parley/config';
import { ParleyError, type GenerationParamName, type GenerationParams } from '@parley/contracts';
import { chunkEvents, openAISseFraming, type ChatChunkLike } from './openai-framing.js';
import {
  DEFAULT_SESSION_HEADER,
  upstreamHeaders,
  type ChatProvider,
  type EmbedInput,
  type EmbedOutput,
  type EmbeddingSupport,
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

/** The field a target's length limit is sent in, as its routing file names it. */
export type MaxTokensField = NonNullable<Extract<TargetConfig, { provider: 'openai-compatible' }>['maxTokensField']>;

/** OpenAI's reasoning models (o1, o3, o4-mini, gpt-5…), which refuse `max_tokens`, optionally behind `openai/`. */
const REASONING_MODEL = /^(?:openai\/)?(?:o\d|gpt-5)(?:$|[-.])/i;

/** `max_completion_tokens` for OpenAI's reasoning models, `max_tokens` (what every other server reads) elsewhere. */
export function defaultMaxTokensField(model: string): MaxTokensField {
  return REASONING_MODEL.test(model) ? 'max_completion_tokens' : 'max_tokens';
}

/** The parameters as the upstream reads them: the length limit under `field`. */
function withLengthField({ max_tokens, ...params }: GenerationParams, field: MaxTokensField): object {
  return max_tokens === undefined ? params : { ...params, [field]: max_tokens };
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
  /** Unset: {@link defaultMaxTokensField} of the request's model. */
  maxTokensField?: MaxTokensField;
}

type Streamer = (body: object, headers: Record<string, string>, signal: AbortSignal) => AsyncIterable<ChatChunkLike>;

/** Streams chat completions from one OpenAI-compatible server over its transport. */
export class OpenAICompatibleProvider implements ChatProvider {
  readonly system = 'openai';
  readonly name: string;
  readonly transport: OpenAITransport;
  /** OpenAI's API serves every parameter of the contract; a server that does not answers 400 (`upstream_rejected`). */
  readonly unsupportedParams = new Set<GenerationParamName>();
  private readonly maxTokensField: MaxTokensField | undefined;
  private readonly sessionHeader: string;
  /** OpenAI's embeddings API takes token arrays, `dimensions` and `user`; a server that does not answers 400. */
  readonly embeddings: EmbeddingSupport = { tokenInput: true, params: new Set(['dimensions', 'user']) };
  private readonly streamer: () => Streamer | Promise<Streamer>;
  private readonly sdk: () => Promise<Sdk>;

  constructor({
    baseUrl,
    apiKey,
    name = 'openai-compatible',
    requestTimeoutMs,
    sessionHeader = DEFAULT_SESSION_HEADER,
    transport = defaultTransport(baseUrl),
    maxTokensField,
  }: OpenAICompatibleOptions) {
    this.name = name;
    this.maxTokensField = maxTokensField;
    this.sessionHeader = sessionHeader;
    this.transport = transport;
    let sdk: Promise<Sdk> | undefined;
    this.sdk = () => (sdk ??= loadSdk({ baseUrl, apiKey, requestTimeoutMs }));
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
      this.streamer = async () => sdkStreamer(await this.sdk());
    }
  }

  async embed(input: EmbedInput): Promise<EmbedOutput> {
    const { client, toParleyError } = await this.sdk();
    const { model, dimensions, user, signal } = input;
    try {
      // Floats, asked for explicitly: the SDK would otherwise ask for base64, which not every server sends.
      const reply = await client.embeddings.create(
        {
          model,
          input: input.input,
          encoding_format: 'float',
          ...(dimensions && { dimensions }),
          ...(user && { user }),
        },
        { signal, headers: upstreamHeaders(input, this.sessionHeader) },
      );
      const embeddings = [...reply.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return {
        embeddings,
        usage: { prompt_tokens: reply.usage.prompt_tokens, total_tokens: reply.usage.total_tokens },
      };
    } catch (error) {
      throw toParleyError(error);
    }
  }

  stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    const headers = upstreamHeaders(input, this.sessionHeader);
    // The parameters have OpenAI's names; only the length limit's depends on the model.
    const body = {
      ...withLengthField(input.params, this.maxTokensField ?? defaultMaxTokensField(input.model)),
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

type OpenAIClient = InstanceType<typeof import('openai').default>;

/** One target's `openai` client, and how its failures read as `ParleyError`s. */
interface Sdk {
  client: OpenAIClient;
  toParleyError: (error: unknown) => ParleyError;
}

async function loadSdk({
  baseUrl,
  apiKey,
  requestTimeoutMs,
}: {
  baseUrl: string;
  apiKey?: string;
  requestTimeoutMs: number;
}): Promise<Sdk> {
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
  return { client, toParleyError };
}

/** The `openai` SDK as a streamer whose failures are already `ParleyError`s. */
function sdkStreamer({ client, toParleyError }: Sdk): Streamer {
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
