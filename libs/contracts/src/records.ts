/**
 * Schemas of what is stored in JetStream: the history of a conversation and the key-value records beside it.
 * Readers validate with these, so a record written by an older version or by hand is an error, not a guess.
 */
import { z } from 'zod';
import { FinishReasonSchema, IdSchema, RoleSchema, UsageSchema } from './messages.js';
import { ArmSchema, servedFields } from './quality.js';

/** One entry of a conversation's history stream. */
export const HistoryMessageSchema = z.object({
  id: IdSchema,
  turnId: IdSchema,
  role: RoleSchema,
  content: z.string(),
  createdAt: z.string(),
  model: z.string().optional(),
  finishReason: FinishReasonSchema.optional(),
  usage: UsageSchema.optional(),
  /** Of an assistant message: its arm, and the target and upstream model that served it. */
  ...servedFields,
});
export type HistoryMessage = z.infer<typeof HistoryMessageSchema>;

/** The conversation record (key-value bucket, key = conversation id). */
export const ConversationRecordSchema = z.object({
  id: IdSchema,
  ownerKeyId: z.string(),
  model: z.string(),
  createdAt: z.string(),
  systemPrompt: z.string().optional(),
  externalUserId: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /** The split target the conversation was assigned at its first turn; routing weight changes leave it. */
  arm: ArmSchema.optional(),
});
export type ConversationRecord = z.infer<typeof ConversationRecordSchema>;

/**
 * What listing shows of a conversation (key-value bucket `index`, key `owner.<keyId>.<conversationId>`):
 * kept up to date by the gateway at creation and by the responder after each turn.
 */
export const ConversationSummarySchema = z.object({
  id: IdSchema,
  model: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  title: z.string().optional(),
  messageCount: z.number().int().nonnegative(),
  externalUserId: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type ConversationSummary = z.infer<typeof ConversationSummarySchema>;

/** A turn of a conversation (key-value bucket `turns`, key = turn id). */
export const TurnRecordSchema = z.object({
  turnId: IdSchema,
  conversationId: IdSchema,
  ownerKeyId: z.string(),
  createdAt: z.string(),
});
export type TurnRecord = z.infer<typeof TurnRecordSchema>;

/** What an `Idempotency-Key` created: its turn, and a digest of the request it came with. */
export const IdempotencyRecordSchema = z.object({
  turnId: IdSchema,
  bodyDigest: z.string(),
  createdAt: z.string(),
  /** `pending` while the first request is handing its turn over; a record without it started (older gateways). */
  state: z.enum(['pending', 'started']).optional(),
});
export type IdempotencyRecord = z.infer<typeof IdempotencyRecordSchema>;

export const RatingSchema = z.enum(['up', 'down']);

/** A user's rating of one reply (key-value bucket `feedback`, key = turn id; a new rating replaces it). */
export const FeedbackRecordSchema = z.object({
  turnId: IdSchema,
  conversationId: IdSchema,
  rating: RatingSchema,
  reason: z.string().optional(),
  createdAt: z.string(),
  /** When the rating was last changed (unset: never). */
  updatedAt: z.string().optional(),
  /** The project of the key that owns the conversation, for reports per project. */
  project: z.string().optional(),
  /** The conversation's model alias. */
  model: z.string().optional(),
  /** The rated reply's arm, and the target and upstream model that served it. */
  ...servedFields,
});
export type FeedbackRecord = z.infer<typeof FeedbackRecordSchema>;
