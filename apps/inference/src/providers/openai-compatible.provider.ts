/**
 * Any OpenAI-compatible chat completions server (vLLM, TGI, llama.cpp, Ollama, OpenAI itself) through the
 * official `openai` SDK, streamed.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ParleyError } from '@parley/contracts';
import { chunkEvents } from './chat-chunks.js';
import type { ChatProvider, GenerateInput, ProviderEvent } from './provider.js';

export interface OpenAICompatibleOptions {
  baseUrl: string;
  apiKey?: string;
  name?: string;
  /** Time allowed to connect and receive the response headers. */
  requestTimeoutMs: number;
  /** Retries are the routing layer's decision; none here by default. */
  maxRetries?: number;
  /**
   * The header carrying the conversation id, so a session-aware router (vLLM production-stack's
   * `--session-key`) keeps a conversation on the replica whose prefix cache holds it.
   */
  sessionHeader?: string;
}

export class OpenAICompatibleProvider implements ChatProvider {
  readonly system = 'openai';
  readonly name: string;
  private readonly client: OpenAI;
  private readonly sessionHeader: string;

  constructor({
    baseUrl,
    apiKey,
    name = 'openai-compatible',
    requestTimeoutMs,
    maxRetries = 0,
    sessionHeader = 'x-parley-conversation-id',
  }: OpenAICompatibleOptions) {
    this.name = name;
    this.sessionHeader = sessionHeader;
    // vLLM without --api-key accepts any key; the SDK insists on one.
    this.client = new OpenAI({ baseURL: baseUrl, apiKey: apiKey ?? 'none', maxRetries, timeout: requestTimeoutMs });
  }

  stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    const { params } = input;
    const headers: Record<string, string> = {};
    if (input.traceparent) headers.traceparent = input.traceparent;
    if (input.conversationId) headers[this.sessionHeader] = input.conversationId;
    return chunkEvents(
      () =>
        this.client.chat.completions.create(
          {
            model: input.model,
            messages: input.messages,
            stream: true,
            stream_options: { include_usage: true },
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
            stop: params.stop,
            seed: params.seed,
            presence_penalty: params.presence_penalty,
            frequency_penalty: params.frequency_penalty,
          },
          { signal: input.signal, headers },
        ),
      { signal: input.signal, toError: toParleyError },
    );
  }
}

/** Upstream failures by kind; messages name the status, never the request (it carries the key). */
function toParleyError(error: unknown): ParleyError {
  if (error instanceof APIUserAbortError) return new ParleyError('upstream_error', 'upstream request aborted');
  if (error instanceof APIConnectionError) {
    return new ParleyError('upstream_error', 'could not reach the upstream model server', { cause: error });
  }
  if (error instanceof APIError) {
    const status = error.status;
    if (status === 429) {
      const retryAfter = Number(error.headers?.get('retry-after'));
      return new ParleyError('rate_limited', 'the upstream model server is rate limiting', {
        retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
      });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return new ParleyError('upstream_rejected', `the upstream model server rejected the request (HTTP ${status})`);
    }
    return new ParleyError('upstream_error', `the upstream model server failed (HTTP ${status ?? 'stream error'})`);
  }
  return new ParleyError('upstream_error', 'the upstream stream failed', { cause: error });
}
