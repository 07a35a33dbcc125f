/**
 * Schemas of every message that crosses NATS. Receivers validate with these at the boundary
 * (see `decode` in @parley/messaging); senders build values of the inferred types.
 */
import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from './errors.js';
import { isValidId } from './ids.js';

export const IdSchema = z.string().refine(isValidId, { message: 'invalid id' });

export const RoleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof RoleSchema>;

export const ChatMessageSchema = z.object({ role: RoleSchema, content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** Sampling parameters passed through to the upstream model. */
export const GenerationParamsSchema = z.object({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  stop: z.array(z.string()).max(4).optional(),
  seed: z.number().int().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
});
export type GenerationParams = z.infer<typeof GenerationParamsSchema>;

export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'content_filter', 'cancelled']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

export const ErrorInfoSchema = z.object({
  code: z.string().refine((c): c is ErrorCode => Object.hasOwn(ErrorCodes, c)),
  message: z.string(),
  retryable: z.boolean(),
});

/** Timeouts the turn must honour, decided once by the gateway so every hop agrees. */
export const TurnLimitsSchema = z.object({
  firstTokenTimeoutMs: z.number().int().positive(),
  interTokenTimeoutMs: z.number().int().positive(),
  turnTimeoutMs: z.number().int().positive(),
});
export type TurnLimits = z.infer<typeof TurnLimitsSchema>;

const turnCommon = {
  turnId: IdSchema,
  model: z.string().min(1).max(256),
  params: GenerationParamsSchema,
  includeUsage: z.boolean(),
  limits: TurnLimitsSchema,
};

/** gateway → responder (`Subjects.turnStart`). */
export const TurnStartSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('conversation'),
    ...turnCommon,
    conversationId: IdSchema,
    userMessage: z.object({ id: IdSchema, content: z.string().min(1) }),
    /** The conversation's own system prompt, kept in front of the deployment's. */
    systemPrompt: z.string().optional(),
  }),
  z.object({
    kind: z.literal('stateless'),
    ...turnCommon,
    messages: z.array(ChatMessageSchema).min(1),
  }),
]);
export type TurnStart = z.infer<typeof TurnStartSchema>;

export const TurnAcceptedSchema = z.object({ turnId: IdSchema });
export type TurnAccepted = z.infer<typeof TurnAcceptedSchema>;

/** responder → gateway, one per subject message, `seq` from 1 without gaps. */
export const FrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), seq: z.number().int().positive(), text: z.string() }),
  z.object({
    type: z.literal('done'),
    seq: z.number().int().positive(),
    finishReason: FinishReasonSchema,
    messageId: IdSchema.optional(),
    model: z.string(),
    usage: UsageSchema.optional(),
  }),
  z.object({ type: z.literal('error'), seq: z.number().int().positive(), error: ErrorInfoSchema }),
]);
export type Frame = z.infer<typeof FrameSchema>;
export type TerminalFrame = Extract<Frame, { type: 'done' | 'error' }>;

/** responder → inference (`Subjects.inferenceGenerate`). */
export const GenerateRequestSchema = z.object({
  ...turnCommon,
  conversationId: IdSchema.optional(),
  messages: z.array(ChatMessageSchema).min(1),
});
export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

export const GenerateAcceptedSchema = z.object({ turnId: IdSchema, upstreamModel: z.string() });
export type GenerateAccepted = z.infer<typeof GenerateAcceptedSchema>;

/** inference → responder, `seq` from 1 without gaps. */
export const ChunkSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), seq: z.number().int().positive(), text: z.string() }),
  z.object({
    type: z.literal('end'),
    seq: z.number().int().positive(),
    finishReason: FinishReasonSchema,
    usage: UsageSchema.optional(),
  }),
  z.object({ type: z.literal('error'), seq: z.number().int().positive(), error: ErrorInfoSchema }),
]);
export type Chunk = z.infer<typeof ChunkSchema>;

export const CancelReasonSchema = z.enum(['client_closed', 'user', 'timeout', 'shutdown']);
export const CancelSchema = z.object({ reason: CancelReasonSchema });
export type Cancel = z.infer<typeof CancelSchema>;

export const PingReplySchema = z.object({ service: z.string(), instanceId: z.string() });
export type PingReply = z.infer<typeof PingReplySchema>;

export const ModelInfoSchema = z.object({ id: z.string(), created: z.number().int(), ownedBy: z.string() });
export const ModelsReplySchema = z.object({ models: z.array(ModelInfoSchema) });
export type ModelsReply = z.infer<typeof ModelsReplySchema>;

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

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
/** A frame or chunk before the publisher numbers it. */
export type FrameBody = WithoutSeq<Frame>;
export type ChunkBody = WithoutSeq<Chunk>;

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
});
export type FeedbackRecord = z.infer<typeof FeedbackRecordSchema>;

/** One inference replica's view of its targets (`Subjects.inferenceTargets`). */
export const TargetStatesReplySchema = z.object({
  instanceId: z.string(),
  targets: z.array(
    z.object({
      target: z.string(),
      breaker: z.enum(['closed', 'open', 'half-open', 'isolated']),
      inFlight: z.number().int(),
      queued: z.number().int(),
      maxConcurrency: z.number().int(),
      maxQueue: z.number().int(),
    }),
  ),
});
export type TargetStatesReply = z.infer<typeof TargetStatesReplySchema>;
