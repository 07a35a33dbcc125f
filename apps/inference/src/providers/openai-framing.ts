/**
 * OpenAI's streamed chat completion, which every transport here receives (the lean one, the `openai` SDK, the
 * Hugging Face SDK): the server-sent events it comes in, and the `chat.completion.chunk`s they carry turned
 * into provider events.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { ParleyError, type FinishReason, type Usage } from '@parley/contracts';
import type { ProviderEvent } from './provider.js';
import type { SseFraming } from './sse-http-client.js';
import { MODEL_SERVER } from './upstream-errors.js';

/** The part of a streamed chunk that the SDKs' types share. */
export interface ChatChunkLike {
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  choices?: { delta?: { content?: string | null } | null; finish_reason?: string | null }[] | null;
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  length: 'length',
  content_filter: 'content_filter',
};

/**
 * Chunks as provider events: content deltas, then exactly one `end` with the finish reason and usage. Errors
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
      if (chunk.usage) {
        const { prompt_tokens, completion_tokens, total_tokens } = chunk.usage;
        usage = { prompt_tokens, completion_tokens, total_tokens };
      }
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const text = choice.delta?.content;
      if (text) yield { type: 'delta', text };
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
