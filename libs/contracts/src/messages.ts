/**
 * Schemas of the messages of the turn protocol, which cross NATS between the services. Receivers validate with
 * these at the boundary (see `decode` in @parley/messaging); senders build values of the inferred types. Which
 * subject carries which message is said once, in registry.ts.
 */
import { z } from 'zod';
import { ErrorCodes, type ErrorCode, type ErrorInfo } from './errors.js';
import { isValidId } from './ids.js';

export const IdSchema = z.string().refine(isValidId, { message: 'invalid id' });

export const RoleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof RoleSchema>;

export const ChatMessageSchema = z.object({ role: RoleSchema, content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/**
 * Sampling parameters, passed through to the upstream model under these (OpenAI's) names. The one list of
 * them: the OpenAI-compatible request body is derived from it and the providers spread it, so a new parameter
 * is one line here.
 */
export const GenerationParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2),
    top_p: z.number().min(0).max(1),
    max_tokens: z.number().int().positive(),
    stop: z.array(z.string()).max(4),
    seed: z.number().int(),
    presence_penalty: z.number().min(-2).max(2),
    frequency_penalty: z.number().min(-2).max(2),
  })
  .partial();
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
  retryAfterSeconds: z.number().nonnegative().optional(),
  param: z.string().optional(),
}) satisfies z.ZodType<ErrorInfo>;

/** Who a turn's consumption is counted against. */
export const AccountSchema = z.object({
  project: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, '1 to 63 of a-z, 0-9, _ and -, starting with a letter or digit'),
  /** The API key's id, or the widget key's for a visitor. */
  keyId: z.string().min(1).max(64),
  visitorId: z.string().max(64).optional(),
});
export type Account = z.infer<typeof AccountSchema>;

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
  /** Who the turn's consumption is counted against (the responder records it in the usage stream). */
  account: AccountSchema.optional(),
};

/** gateway → responder: start a turn. */
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

/**
 * responder → inference: start generating. Inference always asks the upstream for usage (its token metrics
 * need it); whether the client sees it is the turn's `includeUsage`, applied by the responder.
 */
export const GenerateRequestSchema = z.object({
  turnId: turnCommon.turnId,
  model: turnCommon.model,
  params: turnCommon.params,
  limits: turnCommon.limits,
  conversationId: IdSchema.optional(),
  messages: z.array(ChatMessageSchema).min(1),
});
export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

export const GenerateAcceptedSchema = z.object({ turnId: IdSchema, upstreamModel: z.string() });
export type GenerateAccepted = z.infer<typeof GenerateAcceptedSchema>;

// The items of a turn's streams. A token has one shape from the provider to the gateway, `{ type: 'delta',
// text }`; on the wire every item also carries `seq`, from 1 without gaps, which the stream writer assigns.
const SeqSchema = z.number().int().positive();
const DeltaBodySchema = z.object({ type: z.literal('delta'), text: z.string() });
const ErrorBodySchema = z.object({ type: z.literal('error'), error: ErrorInfoSchema });
const EndBodySchema = z.object({
  type: z.literal('end'),
  finishReason: FinishReasonSchema,
  usage: UsageSchema.optional(),
});
const DoneBodySchema = z.object({
  type: z.literal('done'),
  finishReason: FinishReasonSchema,
  messageId: IdSchema.optional(),
  model: z.string(),
  usage: UsageSchema.optional(),
});
const numbered = <T extends z.ZodRawShape>(body: z.ZodObject<T>) => body.extend({ seq: SeqSchema });

/** inference → responder: the model's tokens, then one `end` or `error`. */
export const ChunkSchema = z.discriminatedUnion('type', [
  numbered(DeltaBodySchema),
  numbered(EndBodySchema),
  numbered(ErrorBodySchema),
]);
export type Chunk = z.infer<typeof ChunkSchema>;

/** responder → gateway: the reply's text, then one `done` or `error`. */
export const FrameSchema = z.discriminatedUnion('type', [
  numbered(DeltaBodySchema),
  numbered(DoneBodySchema),
  numbered(ErrorBodySchema),
]);
export type Frame = z.infer<typeof FrameSchema>;

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
/** A stream item before the writer numbers it. */
export type ItemBody<T extends { seq: number }> = WithoutSeq<T>;
export type ChunkBody = ItemBody<Chunk>;
export type FrameBody = ItemBody<Frame>;

export const CancelReasonSchema = z.enum(['client_closed', 'user', 'timeout', 'shutdown']);
export const CancelSchema = z.object({ reason: CancelReasonSchema });
export type Cancel = z.infer<typeof CancelSchema>;
export type CancelReason = Cancel['reason'];

export const PingReplySchema = z.object({ service: z.string(), instanceId: z.string() });
export type PingReply = z.infer<typeof PingReplySchema>;

export const ModelInfoSchema = z.object({
  id: z.string(),
  created: z.number().int(),
  ownedBy: z.string(),
  /** Completion tokens when a request names none, and the most it may ask for. */
  maxTokens: z.object({ default: z.number().int().positive(), max: z.number().int().positive() }),
});
export const ModelsReplySchema = z.object({ models: z.array(ModelInfoSchema) });
export type ModelsReply = z.infer<typeof ModelsReplySchema>;

/** One inference replica's view of its targets. */
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

/** A request that carries nothing (probes, listings). */
export const EmptySchema = z.object({});
