/** The parts of a chat message the reply depends on; other fields (names, tool calls) are ignored. */
export interface PromptMessage {
  role: string;
  content?: string | readonly { type: string; text?: string | undefined }[] | null | undefined;
}

// Small and on-topic for a customer-service bot, so simulated replies look plausible in a demo UI.
const LEXICON: readonly string[] = (
  'thanks for your order the package will arrive soon we can help with that refund account please check ' +
  'email address delivery today tomorrow support team is happy to assist you number invoice shipping ' +
  'status update confirmed and a new password reset link sent our store opens at nine return policy ' +
  'allows thirty days item in stock again sorry about delay anything else I do'
).split(' ');

/**
 * A 32-bit seeded PRNG (mulberry32): tiny, fast and good enough to pick words; not for cryptography.
 *
 * @returns a function yielding floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One word of the simulator's lexicon, picked by `random`. */
export function pickWord(random: () => number): string {
  return LEXICON[Math.floor(random() * LEXICON.length)]!;
}

/** FNV-1a over UTF-16 code units, started from the seed so equal prompts still differ across seeds. */
export function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The text of a message, joining text parts; non-text parts (images, audio) contribute nothing. */
export function messageText(message: PromptMessage): string {
  const { content } = message;
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('');
}

/**
 * Generates `count` word tokens ("word ") determined only by the seed and the roles and texts of the
 * messages, so equal requests get equal replies across runs and processes.
 */
export function generateReplyTokens(options: {
  seed: number;
  messages: readonly PromptMessage[];
  count: number;
}): string[] {
  const { seed, messages, count } = options;
  // Separators that cannot appear in JSON text keep ["ab","c"] and ["a","bc"] apart.
  const key = messages.map((m) => `${m.role}\u0000${messageText(m)}`).join('\u0001');
  const random = mulberry32(fnv1a(key, seed));
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(`${pickWord(random)} `);
  return tokens;
}

/**
 * Splits a fixed reply into tokens at whitespace boundaries, keeping every character: each token is a run of
 * non-space characters plus the whitespace after it, so `tokens.join('') === text`.
 *
 * @example splitReplyText(' <b>Hi</b>\n\nthere') // [' <b>Hi</b>\n\n', 'there']
 */
export function splitReplyText(text: string): string[] {
  const tokens = text.match(/\S+\s*/g) ?? [];
  const leading = /^\s*/.exec(text)?.[0] ?? '';
  if (leading === '') return tokens;
  // Leading whitespace rides on the first token rather than forming a token of its own.
  if (tokens.length === 0) return [leading];
  tokens[0] = leading + tokens[0];
  return tokens;
}

// Chat templates add a few tokens per message for role markers; three matches OpenAI's published estimate.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_REPLY_PRIMING = 3;

/**
 * Approximates prompt tokens (words plus per-message overhead). No real tokenizer: the point is a stable,
 * plausible `usage.prompt_tokens` that grows with the prompt.
 */
export function countPromptTokens(messages: readonly PromptMessage[]): number {
  let total = TOKENS_REPLY_PRIMING;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + (messageText(message).match(/\S+/g)?.length ?? 0);
  }
  return total;
}
