/**
 * The provider interface inference routes to: one streaming call per generation. Adapters translate their
 * upstream's errors into `ParleyError`s with stable codes; an abort through `signal` ends the stream quietly.
 */
import type { ChatMessage, FinishReason, GenerationParams, Usage } from '@parley/contracts';

export type ProviderEvent =
  { type: 'delta'; text: string } | { type: 'end'; finishReason: FinishReason; usage?: Usage };

export interface GenerateInput {
  /** The upstream's model name. */
  model: string;
  messages: ChatMessage[];
  params: GenerationParams;
  includeUsage: boolean;
  /** Aborting it aborts the upstream HTTP request, so the model server frees the slot. */
  signal: AbortSignal;
  traceparent?: string;
  conversationId?: string;
}

export interface ChatProvider {
  readonly name: string;
  /** `gen_ai.system` of the spans: `openai` (any OpenAI-compatible API), `huggingface`, `parley.static`. */
  readonly system: string;
  stream(input: GenerateInput): AsyncIterable<ProviderEvent>;
}
