/**
 * Translation between OpenAI's chat completions format and Parley's turns: what the official SDKs send and
 * what they expect back, streamed (`chat.completion.chunk`) or whole (`chat.completion`).
 */
import type {
  ChatCompletionBody,
  ChatMessage,
  FinishReason,
  GenerationParams,
  ParleyError,
  Usage,
} from '@parley/contracts';

type OpenAIFinishReason = 'stop' | 'length' | 'content_filter';

export function toChatMessages(body: ChatCompletionBody): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
}

export function toParams(body: ChatCompletionBody): GenerationParams {
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    temperature: body.temperature ?? undefined,
    top_p: body.top_p ?? undefined,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    stop,
    seed: body.seed ?? undefined,
    presence_penalty: body.presence_penalty ?? undefined,
    frequency_penalty: body.frequency_penalty ?? undefined,
  };
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
    const delta = this.roleSent ? { content: text } : { role: 'assistant', content: text };
    this.roleSent = true;
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  finish(reason: FinishReason): string {
    const delta = this.roleSent ? {} : { role: 'assistant', content: '' };
    this.roleSent = true;
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: toFinishReason(reason) }]);
  }

  /** The extra last chunk of `stream_options.include_usage`: no choices, only usage (none when not asked). */
  usage(usage: Usage | undefined): string | undefined {
    if (!this.includeUsage) return undefined;
    return JSON.stringify({ ...this.base(), choices: [], usage: usage ?? null });
  }

  private chunk(choices: unknown[]): string {
    return JSON.stringify({ ...this.base(), choices, ...(this.includeUsage ? { usage: null } : {}) });
  }

  private base() {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
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
}) {
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
  return JSON.stringify({
    error: {
      message: error.message,
      type: error.status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: error.code,
    },
  });
}
