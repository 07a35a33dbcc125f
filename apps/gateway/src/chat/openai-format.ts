/**
 * Translation between OpenAI's chat completions format (contracts' openai.ts) and Parley's turns: what the
 * official SDKs send, and what they expect back, streamed (`chat.completion.chunk`) or whole
 * (`chat.completion`), tool calls and log probabilities included.
 */
import {
  messageText,
  ChatCompletionBodySchema,
  GENERATION_PARAM_NAMES,
  LOGPROB_PARAMS,
  ParleyError,
  parleyServed,
  type Served,
  UNSUPPORTED_CHAT_PARAMS,
  type ChatCompletion,
  type ChatCompletionBody,
  type ChatCompletionChunk,
  type FinishReason,
  type Frame,
  type GenerationParams,
  type ModelMessage,
  type OpenAIFinishReason,
  type TokenLogprob,
  type ToolCall,
  type ToolCallChunk,
  type Usage,
} from '@parley/contracts';
import { parseBody } from '../http/body.js';
import { openAIErrorBody } from '../http/errors.js';

type DeltaFrame = Extract<Frame, { type: 'delta' }>;
type ToolCallFrame = Extract<Frame, { type: 'tool_call' }>;
type DoneFrame = Extract<Frame, { type: 'done' }>;

/**
 * The request body, validated. Parameters Parley does not serve and unknown ones are refused naming them, as
 * are the log-probability parameters for a caller not allowed them: nothing asked for is silently ignored.
 */
export function parseChatCompletionBody(
  raw: unknown,
  { allowLogprobs }: { allowLogprobs: boolean },
): ChatCompletionBody {
  const refused =
    raw !== null && typeof raw === 'object'
      ? Object.keys(raw).find((k) => Object.hasOwn(UNSUPPORTED_CHAT_PARAMS, k))
      : undefined;
  if (refused) {
    throw new ParleyError('invalid_request', `${refused} is not supported: ${UNSUPPORTED_CHAT_PARAMS[refused]}`, {
      param: refused,
    });
  }
  const body = parseBody(ChatCompletionBodySchema, raw);
  // `logprobs: false` asks for nothing.
  const asked = allowLogprobs ? undefined : LOGPROB_PARAMS.find((name) => body[name] != null && body[name] !== false);
  if (asked) {
    throw new ParleyError('invalid_request', `${asked} is not enabled for this API key`, { param: asked });
  }
  return body;
}

export { messageText };

/**
 * The messages as the model gets them: `developer` as `system`, and text-only content as one string (some
 * servers read no content parts); content with an image keeps its parts.
 */
export function toModelMessages(body: ChatCompletionBody): ModelMessage[] {
  return body.messages.map((message): ModelMessage => {
    const textOnly =
      typeof message.content !== 'object' ||
      message.content === null ||
      message.content.every((p) => p.type === 'text');
    const content = textOnly && Array.isArray(message.content) ? messageText(message) : message.content;
    if (message.role === 'developer') return { ...message, role: 'system', content: content as string };
    return { ...message, content } as ModelMessage;
  });
}

/** The request's parameters in the contract's form: unset (or `null`) ones left out. */
export function toParams(body: ChatCompletionBody): GenerationParams {
  const params: Record<string, unknown> = {};
  for (const name of GENERATION_PARAM_NAMES) if (body[name] != null) params[name] = body[name];
  if (typeof body.stop === 'string') params.stop = [body.stop];
  if (body.max_completion_tokens != null) params.max_tokens = body.max_completion_tokens;
  return params as GenerationParams;
}

/** A cancelled turn is, to an OpenAI client, one that stopped. */
export function toFinishReason(reason: FinishReason): OpenAIFinishReason {
  return reason === 'cancelled' ? 'stop' : reason;
}

const choiceLogprobs = (logprobs: TokenLogprob[] | undefined) =>
  logprobs ? { content: logprobs, refusal: null } : null;

/** A tool-call frame as OpenAI streams it: the first fragment of a call has its id, type and name. */
function toolCallChunk({ index, id, name, arguments: args }: ToolCallFrame): ToolCallChunk {
  return {
    index,
    ...(id !== undefined && { id, type: 'function' as const }),
    function: { ...(name !== undefined && { name }), arguments: args ?? '' },
  };
}

type Delta = ChatCompletionChunk['choices'][number]['delta'];

export class ChunkWriter {
  private readonly created = Math.floor(Date.now() / 1000);
  private roleSent = false;

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  delta({ text, logprobs }: DeltaFrame): string {
    return this.chunk(this.withRole({ content: text }, text), null, choiceLogprobs(logprobs));
  }

  toolCall(frame: ToolCallFrame): string {
    return this.chunk(this.withRole({ tool_calls: [toolCallChunk(frame)] }, null));
  }

  /** The chunk with the finish reason; it names the arm and what served (`parley`). */
  finish({ finishReason, ...served }: Pick<DoneFrame, 'finishReason' | 'arm' | 'target' | 'upstreamModel'>): string {
    return this.chunk(this.roleSent ? {} : this.withRole({}, ''), toFinishReason(finishReason), null, served);
  }

  /** The extra last chunk of `stream_options.include_usage`: no choices, only usage (none when not asked). */
  usage(usage: Usage | undefined): string | undefined {
    if (!this.includeUsage) return undefined;
    return JSON.stringify({ ...this.base(), choices: [], usage: usage ?? null } satisfies ChatCompletionChunk);
  }

  /** The first chunk says the role, with the content OpenAI sends beside it (`null` before a tool call). */
  private withRole(delta: Delta, content: string | null): Delta {
    if (this.roleSent) return delta;
    this.roleSent = true;
    return { role: 'assistant', content, ...delta };
  }

  private chunk(
    delta: Delta,
    finishReason: OpenAIFinishReason | null = null,
    logprobs: ChatCompletionChunk['choices'][number]['logprobs'] = null,
    served: Served = {},
  ): string {
    const choices = [{ index: 0, delta, logprobs, finish_reason: finishReason }];
    const parley = parleyServed(served);
    const chunk: ChatCompletionChunk = {
      ...this.base(),
      choices,
      ...(this.includeUsage ? { usage: null } : {}),
      ...(parley && { parley }),
    };
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

/** Collects a turn's frames into one `chat.completion`: the text, the tool calls by index, the log probabilities. */
export class CompletionBuilder {
  private text = '';
  private logprobs: TokenLogprob[] | undefined;
  private readonly toolCalls: ToolCall[] = [];

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  add(frame: DeltaFrame | ToolCallFrame): void {
    if (frame.type === 'delta') {
      this.text += frame.text;
      if (frame.logprobs) (this.logprobs ??= []).push(...frame.logprobs);
      return;
    }
    const call = (this.toolCalls[frame.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
    if (frame.id !== undefined) call.id = frame.id;
    if (frame.name !== undefined) call.function.name += frame.name;
    if (frame.arguments !== undefined) call.function.arguments += frame.arguments;
  }

  build({ finishReason, usage, ...served }: DoneFrame): ChatCompletion {
    const toolCalls = this.toolCalls.filter(Boolean);
    const parley = parleyServed(served);
    return {
      id: this.id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: this.model,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            // As OpenAI answers: no text beside tool calls is `null`, not an empty string.
            content: this.text === '' && toolCalls.length > 0 ? null : this.text,
            refusal: null,
            ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
          },
          logprobs: choiceLogprobs(this.logprobs),
          finish_reason: toFinishReason(finishReason),
        },
      ],
      usage: usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      ...(parley && { parley }),
    };
  }
}

/** An error inside an OpenAI stream: the SDKs raise `APIError` for a `data:` line carrying `error`. */
export function streamError(error: ParleyError): string {
  return JSON.stringify(openAIErrorBody(error));
}
