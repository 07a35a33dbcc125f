/**
 * Translation between OpenAI's chat completions format (contracts' openai.ts) and Parley's turns: what the
 * official SDKs send, and what they expect back, streamed (`chat.completion.chunk`) or whole
 * (`chat.completion`).
 */
import {
  GenerationParamsSchema,
  type ChatCompletion,
  type ChatCompletionBody,
  type ChatCompletionChunk,
  type ChatMessage,
  type FinishReason,
  type GenerationParams,
  type OpenAIFinishReason,
  type ParleyError,
  type Usage,
} from '@parley/contracts';
import { openAIErrorBody } from '../http/errors.js';

/** The contract's parameter names, so a parameter added there is passed on without a change here. */
const PARAM_NAMES = Object.keys(GenerationParamsSchema.shape) as (keyof GenerationParams)[];

export function toChatMessages(body: ChatCompletionBody): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
}

/** The request's sampling parameters in the contract's form: unset (or `null`) ones left out. */
export function toParams(body: ChatCompletionBody): GenerationParams {
  const params: Record<string, unknown> = {};
  for (const name of PARAM_NAMES) if (body[name] != null) params[name] = body[name];
  if (typeof body.stop === 'string') params.stop = [body.stop];
  if (body.max_completion_tokens != null) params.max_tokens = body.max_completion_tokens;
  return params as GenerationParams;
}

/** A cancelled turn is, to an OpenAI client, one that stopped. */
export function toFinishReason(reason: FinishReason): OpenAIFinishReason {
  return reason === 'cancelled' ? 'stop' : reason;
}

export class ChunkWriter {
  private readonly created = Math.floor(Date.now() / 1000);
  private roleSent = false;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  delta(text: string): string {
    const delta: ChatCompletionChunk['choices'][number]['delta'] = this.roleSent
      ? { content: text }
      : { role: 'assistant', content: text };
    this.roleSent = true;
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  finish(reason: FinishReason): string {
    const delta: ChatCompletionChunk['choices'][number]['delta'] = this.roleSent
      ? {}
      : { role: 'assistant', content: '' };
    this.roleSent = true;
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: toFinishReason(reason) }]);
  }

  /** The extra last chunk of `stream_options.include_usage`: no choices, only usage (none when not asked). */
  usage(usage: Usage | undefined): string | undefined {
    if (!this.includeUsage) return undefined;
    return JSON.stringify({ ...this.base(), choices: [], usage: usage ?? null } satisfies ChatCompletionChunk);
  }

  private chunk(choices: ChatCompletionChunk['choices']): string {
    const chunk: ChatCompletionChunk = { ...this.base(), choices, ...(this.includeUsage ? { usage: null } : {}) };
    return JSON.stringify(chunk);
  }

  private base() {
    return {
      id: this.id,
      object: 'chat.completion.chunk' as const,
      created: this.created,
      model: this.model,
      system_fingerprint: null,
    };
  }
}

export function completion({
  id,
  model,
  text,
  finishReason,
  usage,
}: {
  id: string;
  model: string;
  text: string;
  finishReason: FinishReason;
  usage: Usage | undefined;
}): ChatCompletion {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: toFinishReason(finishReason),
      },
    ],
    usage: usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}

/** An error inside an OpenAI stream: the SDKs raise `APIError` for a `data:` line carrying `error`. */
export function streamError(error: ParleyError): string {
  return JSON.stringify(openAIErrorBody(error));
}
