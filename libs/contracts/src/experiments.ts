/**
 * The quality loop's read API: ratings of replies (per conversation, and per project over a time range) and
 * the experiment report of a model alias, per arm. Defined once here for the gateway, OpenAPI and clients.
 */
import { z } from 'zod';
import { FinishReasonSchema, IdSchema, UsageSchema } from './messages.js';
import { FeedbackRecordSchema } from './records.js';

const isoDate = z.iso.datetime({ offset: true });

/** A stored rating as the read API shows it. */
export const FeedbackViewSchema = FeedbackRecordSchema.extend({ object: z.literal('feedback') });
export type FeedbackView = z.infer<typeof FeedbackViewSchema>;

export const FeedbackListSchema = z.object({ object: z.literal('list'), data: z.array(FeedbackViewSchema) });
export type FeedbackList = z.infer<typeof FeedbackListSchema>;

/** `GET /v1/admin/feedback`: ratings given or changed in [from, to) (default: the last 30 days). */
export const FeedbackQuerySchema = z.strictObject({
  project: z.string().min(1).max(63).optional(),
  model: z.string().min(1).max(256).optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});
export type FeedbackQuery = z.infer<typeof FeedbackQuerySchema>;

/** `GET /v1/admin/experiments/{alias}`: turns in [from, to) (default: the last 7 days). */
export const ExperimentQuerySchema = z.strictObject({
  from: isoDate.optional(),
  to: isoDate.optional(),
  project: z.string().min(1).max(63).optional(),
});
export type ExperimentQuery = z.infer<typeof ExperimentQuerySchema>;

/** A proportion with its 95 % Wilson score interval; all null when there is nothing to count. */
export const ProportionSchema = z.object({
  rate: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
});
export type Proportion = z.infer<typeof ProportionSchema>;

const quantiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });

/** One arm of an experiment: the split target conversations were assigned. */
export const ArmReportSchema = z.object({
  arm: z.string(),
  conversations: z.number().int().nonnegative(),
  turns: z.number().int().nonnegative(),
  ratings: z.object({
    up: z.number().int().nonnegative(),
    down: z.number().int().nonnegative(),
    /** Share of ratings that are `up`, with its 95 % Wilson interval. */
    upRate: ProportionSchema,
  }),
  /** Milliseconds from the turn reaching the responder to the model's first token. */
  timeToFirstTokenMs: quantiles,
  /** Turns that ended in an error, of all turns. */
  errorRate: z.number().nullable(),
  /** Finished turns a target other than the arm served (a failover), of the finished turns. */
  fallbackRate: z.number().nullable(),
  /** Which targets served the arm's turns, by count. */
  servedBy: z.record(z.string(), z.number().int().nonnegative()),
  /** Characters of the replies. */
  replyChars: z.object({ mean: z.number().nullable(), p50: z.number().nullable() }),
  tokens: z.object({
    prompt: z.number().int().nonnegative(),
    completion: z.number().int().nonnegative(),
    perTurn: z.number().nullable(),
  }),
  /** US dollars by the targets' price tables. */
  costUsd: z.object({ total: z.number().nonnegative(), perTurn: z.number().nullable() }),
  /** User messages by sentiment label (PARLEY_SENTIMENT_URL; empty without it). */
  sentiment: z.record(z.string(), z.number().int().nonnegative()),
});
export type ArmReport = z.infer<typeof ArmReportSchema>;

/** Whether two arms' up rates differ: a two-sided two-proportion z-test with a pooled proportion. */
export const ComparisonSchema = z.object({
  arms: z.tuple([z.string(), z.string()]),
  test: z.literal('two-proportion z-test (pooled, two-sided)'),
  /** Up rate of the first arm minus the second's. */
  difference: z.number().nullable(),
  z: z.number().nullable(),
  pValue: z.number().nullable(),
  /** p < 0.05; false when either arm has no ratings. */
  significant: z.boolean(),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

export const ExperimentReportSchema = z.object({
  object: z.literal('experiment'),
  model: z.string(),
  from: z.string(),
  to: z.string(),
  arms: z.array(ArmReportSchema),
  /** Every pair of arms, in the order of `arms`. */
  comparisons: z.array(ComparisonSchema),
});
export type ExperimentReport = z.infer<typeof ExperimentReportSchema>;

/**
 * A shadow target's reply to a conversation turn (bucket `parley_shadow`, key `<conversationId>.<turnId>`):
 * the same input sent to the alias's `shadow.target`, stored for comparison, never streamed or shown in
 * the history. `error` is its code when the shadow call failed.
 */
export const ShadowReplySchema = z.object({
  turnId: IdSchema,
  conversationId: IdSchema,
  model: z.string(),
  /** The arm the real turn was assigned. */
  arm: z.string(),
  /** The shadow target and its upstream model. */
  target: z.string(),
  upstreamModel: z.string(),
  text: z.string(),
  finishReason: FinishReasonSchema.optional(),
  usage: UsageSchema.optional(),
  costUsd: z.number().nonnegative().optional(),
  firstTokenMs: z.number().nonnegative().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
});
export type ShadowReply = z.infer<typeof ShadowReplySchema>;
