/**
 * Token counts for fitting history into a model's context window. OpenAI-family models (and Llama 3, whose
 * tokenizer is tiktoken-derived) are counted with a real BPE tokenizer (`gpt-tokenizer`, o200k_base, loaded
 * on first use); for other families a documented, deliberately pessimistic estimate is used.
 */

/** Tokens a chat template adds around each message (role markers, separators). */
export const PER_MESSAGE_OVERHEAD_TOKENS = 4;
/**
 * The estimate: one token per 3 UTF-8 bytes. Real tokenizers average 3.5–4.5 bytes per token on English
 * and fewer on code or other scripts, so this over-counts on purpose: trimming a little too much is safe,
 * overflowing the window is an upstream error.
 */
export const ESTIMATE_BYTES_PER_TOKEN = 3;

export interface TokenCounter {
  readonly method: 'bpe:o200k_base' | 'estimate';
  count(text: string): number;
}

const estimating: TokenCounter = {
  method: 'estimate',
  count: (text) => Math.ceil(Buffer.byteLength(text, 'utf8') / ESTIMATE_BYTES_PER_TOKEN),
};

const BPE_FAMILIES = /^(gpt-|o\d|chatgpt|text-embedding|llama-?3|meta-llama\/(meta-)?llama-3)/i;

let bpe: TokenCounter | undefined;

/** The best counter for a model; the BPE tables are loaded only when such a model is used. */
export async function tokenCounterFor(model: string): Promise<TokenCounter> {
  if (!BPE_FAMILIES.test(model)) return estimating;
  if (!bpe) {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    bpe = { method: 'bpe:o200k_base', count: (text) => countTokens(text) };
  }
  return bpe;
}
