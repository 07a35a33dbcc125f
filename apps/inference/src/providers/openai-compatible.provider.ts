/**
 * Any OpenAI-compatible chat completions server (vLLM, TGI, llama.cpp, Ollama, OpenAI itself) through the
 * official `openai` SDK, streamed.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ParleyError, type FinishReason, type Usage } from '@parley/contracts';
import type { ChatProvider, GenerateInput, ProviderEvent } from './provider.js';

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
};

export interface OpenAICompatibleOptions {
  baseUrl: string;
  apiKey?: string;
  name?: string;
  /** Time allowed to connect and receive the response headers. */
  requestTimeoutMs: number;
  /** Retries are the routing layer's decision (issue #4); none here by default. */
  maxRetries?: number;
}

export class OpenAICompatibleProvider implements ChatProvider {
  readonly name: string;
  private readonly client: OpenAI;

  constructor({
    baseUrl,
    apiKey,
    name = 'openai-compatible',
    requestTimeoutMs,
    maxRetries = 0,
  }: OpenAICompatibleOptions) {
    this.name = name;
    // vLLM without --api-key accepts any key; the SDK insists on one.
    this.client = new OpenAI({ baseURL: baseUrl, apiKey: apiKey ?? 'none', maxRetries, timeout: requestTimeoutMs });
  }

  async *stream(input: GenerateInput): AsyncGenerator<ProviderEvent> {
    const { params } = input;
    const headers: Record<string, string> = {};
    if (input.traceparent) headers.traceparent = input.traceparent;
    if (input.conversationId) headers['x-parley-conversation-id'] = input.conversationId;
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    try {
      const stream = await this.client.chat.completions.create(
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
      );
      for await (const chunk of stream) {
        if (chunk.usage) {
          usage = {
            prompt_tokens: chunk.usage.prompt_tokens,
            completion_tokens: chunk.usage.completion_tokens,
            total_tokens: chunk.usage.total_tokens,
          };
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const text = choice.delta?.content;
        if (text) yield { type: 'delta', text };
        if (choice.finish_reason) finishReason = FINISH_REASONS[choice.finish_reason] ?? 'stop';
      }
    } catch (error) {
      if (input.signal.aborted) return;
      throw toParleyError(error);
    }
    if (input.signal.aborted) return;
    if (!finishReason)
      throw new ParleyError('upstream_error', 'the upstream stream ended before the reply was complete');
    yield { type: 'end', finishReason, usage };
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
