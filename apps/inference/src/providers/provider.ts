/**
 * The provider interface inference routes to: one streaming call per generation, one call per embedding
 * request. Adapters translate their upstream's errors into `ParleyError`s with stable codes; an abort through
 * `signal` ends a stream quietly (an embedding call rejects).
 */
import type {
  ChunkBody,
  EmbedReply,
  EmbeddingInput,
  GenerationParamName,
  GenerationParams,
  ModelMessage,
} from '@parley/contracts';

/** What a provider's stream yields: content deltas and tool-call fragments, then one `end` (a turn's chunks). */
export type ProviderEvent = Exclude<ChunkBody, { type: 'error' }>;

/** One generation as a provider gets it. */
export interface GenerateInput {
  /** The upstream's model name. */
  model: string;
  messages: ModelMessage[];
  /** The request's parameters, less those the target drops (`dropParams`) and never one the provider cannot serve. */
  params: GenerationParams;
  /** Aborting it aborts the upstream HTTP request, so the model server frees the slot. */
  signal: AbortSignal;
  traceparent?: string;
  conversationId?: string;
}

/** One embedding request as a provider gets it; only parameters its {@link EmbeddingSupport} names. */
export interface EmbedInput {
  /** The upstream's model name. */
  model: string;
  input: EmbeddingInput;
  dimensions?: number;
  user?: string;
  signal: AbortSignal;
  traceparent?: string;
}

/** One vector per input, in input order, as floats. */
export interface EmbedOutput {
  embeddings: number[][];
  usage: EmbedReply['usage'];
}

/** The optional parameters of an embedding request. */
export type EmbeddingParamName = 'dimensions' | 'user';

/** What a provider's embeddings take beyond text inputs. */
export interface EmbeddingSupport {
  /** Inputs given as token ids. */
  tokenInput: boolean;
  params: ReadonlySet<EmbeddingParamName>;
}

/** A model upstream: streams one generation per call, and embeds inputs where it serves embeddings. */
export interface ChatProvider {
  readonly name: string;
  /** `gen_ai.system` of the spans: `openai` (any OpenAI-compatible API), `huggingface`, `parley.static`. */
  readonly system: string;
  /**
   * Parameters this provider cannot serve: a request with one is refused (400 naming it) unless the target
   * drops it, rather than sent to an upstream that would ignore it.
   */
  readonly unsupportedParams: ReadonlySet<GenerationParamName>;
  stream(input: GenerateInput): AsyncIterable<ProviderEvent>;
  /** What its embeddings take; unset when it serves none (`embed` then refuses with a 400). */
  readonly embeddings?: EmbeddingSupport;
  embed(input: EmbedInput): Promise<EmbedOutput>;
}

/** The header carrying the conversation id to the upstream unless a target names another (@parley/config). */
export { DEFAULT_SESSION_HEADER } from '@parley/config';

/** The headers every upstream request carries: the trace context, and the conversation id under `sessionHeader`. */
export function upstreamHeaders(
  input: Pick<GenerateInput, 'traceparent' | 'conversationId'>,
  sessionHeader: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (input.traceparent) headers.traceparent = input.traceparent;
  if (input.conversationId) headers[sessionHeader] = input.conversationId;
  return headers;
}
