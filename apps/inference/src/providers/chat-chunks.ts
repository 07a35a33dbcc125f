/**
 * Both SDKs stream OpenAI's `chat.completion.chunk` shape; this turns such a stream into provider events:
 * content deltas, then exactly one `end` with the finish reason and usage. Errors are mapped by the caller's
 * `toError`; an abort ends the events quietly.
 */
import { ParleyError, type FinishReason, type Usage } from '@parley/contracts';
import type { ProviderEvent } from './provider.js';

/** The part of a streamed chunk that both SDKs' types share. */
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
