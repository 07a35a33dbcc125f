/**
 * The experiment report of a model alias: its turns in a time range from the usage stream, grouped by the
 * arm each was assigned, joined with the current rating of each turn. Per arm: conversations, turns, the up
 * rate with its 95 % Wilson interval, time to first token, error and fallback rates, reply length, tokens and
 * cost; and per pair of arms a two-proportion z-test of the up rates.
 */
import type {
  ArmReport,
  Comparison,
  ExperimentQuery,
  ExperimentReport,
  FeedbackRecord,
  UsageRecord,
} from '@parley/contracts';
import { Streams } from '@parley/contracts';
import type { JetStreamHandles } from '@parley/messaging';
import { usageRecords } from '../usage/usage.js';
import { ALPHA, quantile, twoProportionZ, wilson } from './stats.js';

const DAY_MS = 24 * 3600_000;
/** The arm of turns recorded before arms were (or whose generation was never accepted). */
export const UNASSIGNED_ARM = 'unassigned';

/** What the report needs besides the usage stream: the ratings of turns, by turn id. */
export type RatingsOf = (turnIds: readonly string[]) => Promise<Map<string, Pick<FeedbackRecord, 'rating'>>>;

/** Builds the report (see above) of `alias` over the query's range (default: the last 7 days). */
export async function experimentReport(
  jetstream: JetStreamHandles,
  ratingsOf: RatingsOf,
  alias: string,
  query: ExperimentQuery,
): Promise<ExperimentReport> {
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 7 * DAY_MS);
  const byArm = new Map<string, UsageRecord[]>();
  const info = await jetstream.jsm.streams.info(Streams.usage.name);
  if (info.state.messages > 0) {
    for await (const record of usageRecords(jetstream, { from, to, project: query.project })) {
      if (record.model !== alias) continue;
      const arm = record.arm ?? UNASSIGNED_ARM;
      byArm.set(arm, [...(byArm.get(arm) ?? []), record]);
    }
  }
  const ratings = await ratingsOf([...byArm.values()].flatMap((records) => records.map((r) => r.turnId)));
  const arms = [...byArm.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([arm, records]) => armReport(arm, records, ratings));
  return {
    object: 'experiment',
    model: alias,
    from: from.toISOString(),
    to: to.toISOString(),
    arms,
    comparisons: compare(arms),
  };
}

/** One arm's figures from its turns' usage records and their ratings. */
export function armReport(
  arm: string,
  records: readonly UsageRecord[],
  ratings: ReadonlyMap<string, Pick<FeedbackRecord, 'rating'>>,
): ArmReport {
  let up = 0;
  let down = 0;
  let errors = 0;
  let fallbacks = 0;
  let finished = 0;
  let prompt = 0;
  let completion = 0;
  let cost = 0;
  const conversations = new Set<string>();
  const firstTokens: number[] = [];
  const replyChars: number[] = [];
  const servedBy: Record<string, number> = {};
  const sentiment: Record<string, number> = {};
  for (const record of records) {
    const rating = ratings.get(record.turnId)?.rating;
    if (rating === 'up') up += 1;
    else if (rating === 'down') down += 1;
    if (record.conversationId) conversations.add(record.conversationId);
    if (record.outcome === 'error') errors += 1;
    else {
      finished += 1;
      if (record.target !== undefined && record.arm !== undefined && record.target !== record.arm) fallbacks += 1;
    }
    if (record.target !== undefined) servedBy[record.target] = (servedBy[record.target] ?? 0) + 1;
    if (record.sentiment !== undefined) sentiment[record.sentiment] = (sentiment[record.sentiment] ?? 0) + 1;
    if (record.firstTokenMs !== undefined) firstTokens.push(record.firstTokenMs);
    if (record.replyChars !== undefined) replyChars.push(record.replyChars);
    prompt += record.usage.prompt_tokens;
    completion += record.usage.completion_tokens;
    cost += record.costUsd ?? 0;
  }
  const turns = records.length;
  const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);
  return {
    arm,
    conversations: conversations.size,
    turns,
    ratings: { up, down, upRate: wilson(up, up + down) },
    timeToFirstTokenMs: { p50: quantile(firstTokens, 0.5), p95: quantile(firstTokens, 0.95) },
    errorRate: share(errors, turns),
    fallbackRate: share(fallbacks, finished),
    servedBy,
    replyChars: {
      mean: share(
        replyChars.reduce((sum, n) => sum + n, 0),
        replyChars.length,
      ),
      p50: quantile(replyChars, 0.5),
    },
    tokens: { prompt, completion, perTurn: share(prompt + completion, turns) },
    costUsd: { total: cost, perTurn: share(cost, turns) },
    sentiment,
  };
}

/** Every pair of arms' up rates, tested. */
export function compare(arms: readonly ArmReport[]): Comparison[] {
  const comparisons: Comparison[] = [];
  for (const [i, a] of arms.entries()) {
    for (const b of arms.slice(i + 1)) {
      const test = twoProportionZ(
        a.ratings.up,
        a.ratings.up + a.ratings.down,
        b.ratings.up,
        b.ratings.up + b.ratings.down,
      );
      comparisons.push({
        arms: [a.arm, b.arm],
        test: 'two-proportion z-test (pooled, two-sided)',
        ...test,
        significant: test.pValue !== null && test.pValue < ALPHA,
      });
    }
  }
  return comparisons;
}
