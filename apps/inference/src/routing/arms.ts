/**
 * Experiment arms and what they cost. An alias's split targets are its arms: a conversation is assigned one
 * when it starts and keeps it (the responder stores it with the conversation and sends it back as the pinned
 * arm), so weight changes in the routing file apply to new conversations only. A pinned arm the alias no
 * longer splits to is chosen anew, and the new choice is recorded the same way.
 */
import type { TargetPrice } from '@parley/config';
import type { Usage } from '@parley/contracts';

/** Tokens per million, the unit prices are quoted in. */
const TOKENS_PER_PRICE_UNIT = 1_000_000;

/**
 * The split entry a pinned arm names, when the alias still splits to it.
 * @example pinnedEntry(route.split, 'llama-b')?.target
 */
export function pinnedEntry<T extends { target: { name: string } }>(split: readonly T[], arm: string | undefined) {
  return arm === undefined ? undefined : split.find((s) => s.target.name === arm);
}

/**
 * What `usage` costs at `price`, in US dollars: cached prompt tokens at the cached price (input's when the
 * table has none), the other prompt tokens at input's, completion tokens at output's. No price: undefined.
 * @example costOf({ input: 0.15, output: 0.6 }, usage) // 0.00012 for 400 prompt and 100 completion tokens
 */
export function costOf(price: TargetPrice | undefined, usage: Usage | undefined): number | undefined {
  if (!price || !usage) return undefined;
  const cached = Math.min(usage.prompt_tokens_details?.cached_tokens ?? 0, usage.prompt_tokens);
  const dollars =
    (usage.prompt_tokens - cached) * price.input +
    cached * (price.cached ?? price.input) +
    usage.completion_tokens * price.output;
  return dollars / TOKENS_PER_PRICE_UNIT;
}
