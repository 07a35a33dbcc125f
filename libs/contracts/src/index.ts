export { ErrorCodes, ParleyError } from './errors.js';
export type { ErrorCode, ErrorInfo } from './errors.js';
export { InvalidIdError, isValidId, newId } from './ids.js';
export type { IdKind } from './ids.js';
export {
  AccountSchema,
  CancelReasonSchema,
  CancelSchema,
  ChatMessageSchema,
  ChunkSchema,
  EmptySchema,
  ErrorInfoSchema,
  FinishReasonSchema,
  FrameSchema,
  GenerateAcceptedSchema,
  GenerateRequestSchema,
  GenerationParamsSchema,
  IdSchema,
  ModelInfoSchema,
  ModelsReplySchema,
  PingReplySchema,
  RoleSchema,
  TargetStatesReplySchema,
  TurnAcceptedSchema,
  TurnLimitsSchema,
  TurnStartSchema,
  UsageSchema,
} from './messages.js';
export type {
  Account,
  Cancel,
  CancelReason,
  ChatMessage,
  Chunk,
  ChunkBody,
  FinishReason,
  Frame,
  FrameBody,
  GenerateAccepted,
  GenerateRequest,
  GenerationParams,
  ItemBody,
  ModelsReply,
  PingReply,
  Role,
  TargetStatesReply,
  TurnAccepted,
  TurnLimits,
  TurnStart,
  Usage,
} from './messages.js';
export {
  ConversationRecordSchema,
  ConversationSummarySchema,
  FeedbackRecordSchema,
  HistoryMessageSchema,
  IdempotencyRecordSchema,
  RatingSchema,
  TurnRecordSchema,
} from './records.js';
export type {
  ConversationRecord,
  ConversationSummary,
  FeedbackRecord,
  HistoryMessage,
  IdempotencyRecord,
  TurnRecord,
} from './records.js';
export {
  ConversationListItemSchema,
  ConversationListSchema,
  ConversationSchema,
  ConversationWithMessagesSchema,
  CreateConversationBodySchema,
  ErrorBodySchema,
  ExternalUserIdSchema,
  FeedbackBodySchema,
  MAX_SYSTEM_PROMPT_CHARS,
  MetadataSchema,
  SendMessageBodySchema,
  UserErasureReceiptSchema,
  WidgetSessionBodySchema,
  WidgetSessionSchema,
} from './http.js';
export type {
  Conversation,
  ConversationList,
  ConversationWithMessages,
  CreateConversationBody,
  FeedbackBody,
  SendMessageBody,
  UserErasureReceipt,
  WidgetSession,
  WidgetSessionBody,
} from './http.js';
export {
  ChatCompletionBodySchema,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  ModelListSchema,
  OpenAIErrorBodySchema,
  OpenAIFinishReasonSchema,
  OpenAIMessageSchema,
} from './openai.js';
export type {
  ChatCompletion,
  ChatCompletionBody,
  ChatCompletionChunk,
  OpenAIErrorBody,
  OpenAIFinishReason,
} from './openai.js';
export { DeltaEventSchema, DoneEventSchema, ErrorEventSchema, turnEvent } from './turn-events.js';
export type { DeltaEvent, DoneEvent, ErrorEvent, TurnEvent } from './turn-events.js';
export {
  Broadcasts,
  Buckets,
  Endpoints,
  Headers,
  QueueGroups,
  Streams,
  TurnCancel,
  TurnStreams,
  historySubject,
  usageSubject,
} from './registry.js';
export * from './accounts.js';
export type { Endpoint, ItemStream, ServiceName, StreamEndpoint } from './registry.js';
