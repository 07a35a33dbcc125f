/**
 * Schemas of the messages of the turn protocol, which cross NATS between the services. Receivers validate with
 * these at the boundary (see `decode` in @parley/messaging); senders build values of the inferred types. Which
 * subject carries which message is said once, in registry.ts.
 */
import { z } from 'zod';
import { ErrorCodes, ParleyError, type ErrorCode, type ErrorInfo } from './errors.js';
import { isValidId } from './ids.js';
import { ArmSchema, servedFields } from './quality.js';

export const IdSchema = z.string().refine(isValidId, { message: 'invalid id' });

export const RoleSchema = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof RoleSchema>;

/** A text-only message: what conversation turns store and send. */
export const ChatMessageSchema = z.object({ role: RoleSchema, content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const NameSchema = z.string().min(1).max(256);
export const TextPartSchema = z.strictObject({ type: z.literal('text'), text: z.string() });
/** An image for a vision model: an `https:` URL or a `data:` URL, as OpenAI takes it. */
export const ImagePartSchema = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
export const ContentPartSchema = z.discriminatedUnion('type', [TextPartSchema, ImagePartSchema]);
export type ContentPart = z.infer<typeof ContentPartSchema>;
const TextContentSchema = z.union([z.string(), z.array(TextPartSchema)]);

/** A call the model made, as OpenAI's assistant messages carry it (and clients send back). */
export const ToolCallSchema = z.strictObject({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.strictObject({ name: NameSchema, arguments: z.string() }),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

/**
 * A message of a stateless turn, as the model gets it: OpenAI's chat message with structured content, tool
 * calls and tool results. A {@link ChatMessage} is one too.
 */
export const ModelMessageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: TextContentSchema, name: NameSchema.optional() }),
  z.strictObject({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(ContentPartSchema)]),
    name: NameSchema.optional(),
  }),
  z.strictObject({
    role: z.literal('assistant'),
    content: TextContentSchema.nullish(),
    name: NameSchema.optional(),
    tool_calls: z.array(ToolCallSchema).optional(),
    refusal: z.string().nullish(),
  }),
  z.strictObject({ role: z.literal('tool'), content: TextContentSchema, tool_call_id: z.string().min(1).max(256) }),
]);
export type ModelMessage = z.infer<typeof ModelMessageSchema>;

/** The text of a message's content (text parts joined; images and tool calls are not text). */
export function messageText(message: { content?: string | null | readonly { type: string; text?: string }[] }): string {
  const { content } = message;
  if (content == null || typeof content === 'string') return content ?? '';
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}

/** A function's or a response schema's name, as OpenAI allows them. */
const IdentifierSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -');

/** A function the model may call; `parameters` is a JSON Schema. */
export const ToolSchema = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: IdentifierSchema,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});
export type Tool = z.infer<typeof ToolSchema>;

export const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: NameSchema }) }),
]);

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: IdentifierSchema,
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

/**
 * The parameters of a generation, passed through to the upstream model under these (OpenAI's) names. The one
 * list of them: the OpenAI-compatible request body is derived from it, the providers spread it, and a routing
 * file's `dropParams` and a provider's unsupported parameters name them, so a new parameter is one line here.
 */
export const GenerationParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2),
    top_p: z.number().min(0).max(1),
    /** The reply's length limit; sent as `max_completion_tokens` where the target's model needs that. */
    max_tokens: z.number().int().positive(),
    stop: z.array(z.string()).max(4),
    seed: z.number().int(),
    presence_penalty: z.number().min(-2).max(2),
    frequency_penalty: z.number().min(-2).max(2),
    tools: z.array(ToolSchema).min(1).max(128),
    tool_choice: ToolChoiceSchema,
    parallel_tool_calls: z.boolean(),
    response_format: ResponseFormatSchema,
    user: z.string().max(256),
    logprobs: z.boolean(),
    top_logprobs: z.number().int().min(0).max(20),
    logit_bias: z.record(z.string().regex(/^\d+$/, 'a token id'), z.number().min(-100).max(100)),
  })
  .partial();
export type GenerationParams = z.infer<typeof GenerationParamsSchema>;
export type GenerationParamName = keyof GenerationParams;
/** Every parameter name of {@link GenerationParamsSchema}. */
export const GENERATION_PARAM_NAMES = Object.keys(GenerationParamsSchema.shape) as GenerationParamName[];

export const UsageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
  /** Where the upstream reports them: prompt tokens served from its cache, completion tokens spent reasoning. */
  prompt_tokens_details: z.object({ cached_tokens: z.number().int().nonnegative() }).optional(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().int().nonnegative() }).optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** One token's log probability with its most likely alternatives (`logprobs`), as OpenAI reports it. */
export const TokenLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()).nullable(),
  top_logprobs: z.array(
    z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable() }),
  ),
});
export type TokenLogprob = z.infer<typeof TokenLogprobSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'content_filter', 'tool_calls', 'cancelled']);
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
  /** The arm a conversation is pinned to (unset before its first reply, and for stateless turns). */
  arm: ArmSchema.optional(),
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
    messages: z.array(ModelMessageSchema).min(1),
  }),
]);
export type TurnStart = z.infer<typeof TurnStartSchema>;

/** The parameters the target's `dropParams` leaves out of the upstream request (none: absent). */
const DroppedParamsSchema = z.array(z.string()).optional();

export const TurnAcceptedSchema = z.object({
  turnId: IdSchema,
  droppedParams: DroppedParamsSchema,
  /** The arm the turn was assigned. */
  arm: ArmSchema.optional(),
});
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
  messages: z.array(ModelMessageSchema).min(1),
  /** The conversation's pinned arm: its split target, honoured while the alias still splits to it. */
  arm: ArmSchema.optional(),
});
export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

export const GenerateAcceptedSchema = z.object({
  turnId: IdSchema,
  upstreamModel: z.string(),
  droppedParams: DroppedParamsSchema,
  /** The split target the turn was assigned (the pinned arm, or a new choice when that left the file). */
  arm: ArmSchema.optional(),
});
export type GenerateAccepted = z.infer<typeof GenerateAcceptedSchema>;

// The items of a turn's streams. A token has one shape from the provider to the gateway, `{ type: 'delta',
// text }`, and so has a fragment of a tool call; on the wire every item also carries `seq`, from 1 without gaps,
// which the stream writer assigns.
const SeqSchema = z.number().int().positive();
const DeltaBodySchema = z.object({
  type: z.literal('delta'),
  text: z.string(),
  /** With `logprobs`: one entry per token of `text`. */
  logprobs: z.array(TokenLogprobSchema).optional(),
});
/**
 * A fragment of the tool call number `index`, as OpenAI streams it: the first fragment of a call carries its
 * `id` and `name`, the following ones pieces of `arguments` (JSON text) to append.
 */
const ToolCallDeltaBodySchema = z.object({
  type: z.literal('tool_call'),
  index: z.number().int().nonnegative(),
  id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
});
const ErrorBodySchema = z.object({ type: z.literal('error'), error: ErrorInfoSchema });
const EndBodySchema = z.object({
  type: z.literal('end'),
  finishReason: FinishReasonSchema,
  usage: UsageSchema.optional(),
  /** The target and upstream model that served (a fallback after a failover). */
  target: servedFields.target,
  upstreamModel: servedFields.upstreamModel,
  /** What the usage cost by the target's price table, in US dollars (none without a price or usage). */
  costUsd: z.number().nonnegative().optional(),
});
const DoneBodySchema = z.object({
  type: z.literal('done'),
  finishReason: FinishReasonSchema,
  messageId: IdSchema.optional(),
  model: z.string(),
  usage: UsageSchema.optional(),
  ...servedFields,
});
const numbered = <T extends z.ZodRawShape>(body: z.ZodObject<T>) => body.extend({ seq: SeqSchema });

/** inference → responder: the model's tokens and tool calls, then one `end` or `error`. */
export const ChunkSchema = z.discriminatedUnion('type', [
  numbered(DeltaBodySchema),
  numbered(ToolCallDeltaBodySchema),
  numbered(EndBodySchema),
  numbered(ErrorBodySchema),
]);
export type Chunk = z.infer<typeof ChunkSchema>;

/** responder → gateway: the reply's text and tool calls, then one `done` or `error`. */
export const FrameSchema = z.discriminatedUnion('type', [
  numbered(DeltaBodySchema),
  numbered(ToolCallDeltaBodySchema),
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

/** What a model alias serves: chat completions (turns) or embeddings (`/v1/embeddings`). */
export const ModelKindSchema = z.enum(['chat', 'embedding']);
export type ModelKind = z.infer<typeof ModelKindSchema>;

/**
 * The 400 for an alias asked for on the route of the other kind (the gateway and inference both refuse it).
 * @example throw wrongModelKind('embed', 'embedding') // model "embed" is an embedding model: use /v1/embeddings
 */
export function wrongModelKind(alias: string, kind: ModelKind): ParleyError {
  const message =
    kind === 'embedding'
      ? `model "${alias}" is an embedding model: use /v1/embeddings`
      : `model "${alias}" is a chat model and serves no embeddings`;
  return new ParleyError('invalid_request', message, { param: 'model' });
}

export const ModelInfoSchema = z.object({
  id: z.string(),
  /** Unset from an inference replica older than embeddings: `chat`. */
  kind: ModelKindSchema.default('chat'),
  created: z.number().int(),
  ownedBy: z.string(),
  /** Completion tokens when a request names none, and the most it may ask for. */
  maxTokens: z.object({ default: z.number().int().positive(), max: z.number().int().positive() }),
});
export const ModelsReplySchema = z.object({ models: z.array(ModelInfoSchema) });
export type ModelsReply = z.infer<typeof ModelsReplySchema>;

/**
 * What can be embedded: texts, or texts already tokenized (token ids, where the upstream takes them). Always a
 * list here; the gateway makes one of a single input.
 */
export const EmbeddingInputSchema = z.union([
  z.array(z.string()).min(1),
  z.array(z.array(z.number().int().nonnegative()).min(1)).min(1),
]);
export type EmbeddingInput = z.infer<typeof EmbeddingInputSchema>;

/** gateway → inference: embed the inputs with a model alias of kind `embedding`. */
export const EmbedRequestSchema = z.object({
  model: z.string().min(1).max(256),
  input: EmbeddingInputSchema,
  /** Output dimensions, for models that can shorten their vectors. */
  dimensions: z.number().int().positive().optional(),
  user: z.string().max(256).optional(),
  /** Split targets are chosen by it (the caller's key), so one caller's vectors come from one target. */
  stickyKey: z.string().min(1).max(128),
  /** The upstream call is aborted after this long. */
  timeoutMs: z.number().int().positive(),
});
export type EmbedRequest = z.infer<typeof EmbedRequestSchema>;

/**
 * inference → gateway: one vector per input, in input order, each as base64 of little-endian float32 (what
 * OpenAI's `encoding_format: base64` is), a fifth of the size of JSON numbers on NATS.
 */
export const EmbedReplySchema = z.object({
  embeddings: z.array(z.string()),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative() }),
});
export type EmbedReply = z.infer<typeof EmbedReplySchema>;

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
