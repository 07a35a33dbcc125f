/**
 * OpenAI's streamed chat completion, which every transport here receives (the lean one, the `openai` SDK, the
 * Hugging Face SDK): the server-sent events it comes in, and the `chat.completion.chunk`s they carry turned
 * into provider events.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { ParleyError, type FinishReason, type TokenLogprob, type Usage } from '@parley/contracts';
import type { ProviderEvent } from './provider.js';
import type { SseFraming } from './sse-http-client.js';
import { MODEL_SERVER } from './upstream-errors.js';

interface LogprobLike {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

/** The part of a streamed chunk that the SDKs' types share. */
export interface ChatChunkLike {
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number | null } | null;
    completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  } | null;
  choices?:
    | {
        delta?: {
          content?: string | null;
          tool_calls?:
            | {
                index: number;
                id?: string | null;
                function?: { name?: string | null; arguments?: string | null } | null;
              }[]
            | null;
        } | null;
        logprobs?: { content?: (LogprobLike & { top_logprobs?: LogprobLike[] | null })[] | null } | null;
        finish_reason?: string | null;
      }[]
    | null;
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  // The deprecated single-function form of a tool call.
  function_call: 'tool_calls',
};

type ChoiceLike = NonNullable<ChatChunkLike['choices']>[number];

/** The usage, with the cached and reasoning token counts where the upstream reports them. */
function usageOf(reported: NonNullable<ChatChunkLike['usage']>): Usage {
  const { prompt_tokens, completion_tokens, total_tokens } = reported;
  const usage: Usage = { prompt_tokens, completion_tokens, total_tokens };
  const cached = reported.prompt_tokens_details?.cached_tokens;
  const reasoning = reported.completion_tokens_details?.reasoning_tokens;
  if (typeof cached === 'number') usage.prompt_tokens_details = { cached_tokens: cached };
  if (typeof reasoning === 'number') usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

/** A choice's token log probabilities in OpenAI's form (servers that omit `bytes` get `null`). */
function logprobsOf(choice: ChoiceLike): TokenLogprob[] | undefined {
  const content = choice.logprobs?.content;
  if (!content?.length) return undefined;
  const entry = ({ token, logprob, bytes }: LogprobLike) => ({ token, logprob, bytes: bytes ?? null });
  return content.map((l) => ({ ...entry(l), top_logprobs: (l.top_logprobs ?? []).map(entry) }));
}

/** The events of one choice's delta: its text (with log probabilities), then its tool-call fragments. */
function* choiceEvents(choice: ChoiceLike): Generator<ProviderEvent> {
  const text = choice.delta?.content ?? '';
  const logprobs = logprobsOf(choice);
  if (text || logprobs) yield { type: 'delta', text, ...(logprobs && { logprobs }) };
  for (const call of choice.delta?.tool_calls ?? []) {
    const event: ProviderEvent = { type: 'tool_call', index: call.index };
    if (call.id) event.id = call.id;
    if (call.function?.name) event.name = call.function.name;
    if (call.function?.arguments) event.arguments = call.function.arguments;
    yield event;
  }
}

/**
 * Chunks as provider events: content deltas and tool-call fragments, then exactly one `end` with the finish
 * reason and usage. Errors
 * are mapped by `toError`; an abort ends the events quietly.
 */
export async function* chunkEvents(
  open: () => AsyncIterable<ChatChunkLike> | Promise<AsyncIterable<ChatChunkLike>>,
  { signal, toError }: { signal: AbortSignal; toError: (error: unknown) => ParleyError },
): AsyncGenerator<ProviderEvent> {
  let finishReason: FinishReason | undefined;
  let usage: Usage | undefined;
  try {
    for await (const chunk of await open()) {
      if (chunk.usage) usage = usageOf(chunk.usage);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      yield* choiceEvents(choice);
      if (choice.finish_reason) finishReason = FINISH_REASONS[choice.finish_reason] ?? 'stop';
    }
  } catch (error) {
    if (signal.aborted) return;
    throw toError(error);
  }
  if (signal.aborted) return;
  if (!finishReason) throw new ParleyError('upstream_error', 'the upstream stream ended before the reply was complete');
  yield { type: 'end', finishReason, usage };
}

/** The events of a streamed chat completion: each one a chunk, until `[DONE]`. */
export const openAISseFraming: SseFraming<ChatChunkLike> = {
  isEnd: (event) => event.data === '[DONE]',
  decode: parseChunk,
};

/** One event's chunk, or the server reporting an error in the stream (vLLM and OpenAI do). */
function parseChunk({ data }: EventSourceMessage): ChatChunkLike {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch (error) {
    throw new ParleyError('upstream_error', `${MODEL_SERVER} sent a chunk that is not JSON`, { cause: error });
  }
  if (typeof chunk !== 'object' || chunk === null) {
    throw new ParleyError('upstream_error', `${MODEL_SERVER} sent a chunk that is not an object`);
  }
  if ('error' in chunk && chunk.error)
    throw new ParleyError('upstream_error', `${MODEL_SERVER} reported an error in the stream`);
  return chunk as ChatChunkLike;
}
