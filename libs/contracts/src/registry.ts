/**
 * The one registry of what crosses NATS: every subject bound to the schemas of what it carries. Subject names
 * are `parley.<entity>.<event>.v<version>[.<id>]`; they never embed raw user input: every id in one has passed
 * {@link assertId}.
 *
 * - {@link Endpoints}: request/reply subjects served by a queue group, with their request and reply schemas;
 *   those that start a turn's stream name it.
 * - {@link TurnStreams}: a turn's numbered items, with the item schema and the terminal predicate.
 * - {@link TurnCancel}: the subject that stops a turn on every hop.
 */
import type { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { assertId } from './ids.js';
import {
  CancelSchema,
  ChunkSchema,
  EmbedReplySchema,
  EmbedRequestSchema,
  EmptySchema,
  FrameSchema,
  GenerateAcceptedSchema,
  GenerateRequestSchema,
  ModelsReplySchema,
  PingReplySchema,
  TargetStatesReplySchema,
  TurnAcceptedSchema,
  TurnStartSchema,
  type Chunk,
  type Frame,
  type TurnStart,
} from './messages.js';

/** Queue groups: every replica of a service joins its group, so each request reaches exactly one replica. */
export const QueueGroups = {
  responder: 'parley-responder',
  inference: 'parley-inference',
} as const;
export type ServiceName = keyof typeof QueueGroups;

/** One turn's sequence-numbered items on its own subject. */
export interface ItemStream<I extends z.ZodType<{ seq: number }> = z.ZodType<{ seq: number }>> {
  /** The subject of one turn's stream. */
  readonly subject: (turnId: string) => string;
  /** The subjects of every turn's stream. */
  readonly wildcard: string;
  readonly item: I;
  /** The item after which the stream is complete: there is exactly one. */
  readonly isTerminal: (item: z.infer<I>) => boolean;
  /** Captured by the frames stream (a client can resume it), or core NATS only. */
  readonly stored: boolean;
  /** Names the stream in error messages. */
  readonly what: string;
}

/** Checks an item stream's definition and keeps its item type. */
const itemStream = <I extends z.ZodType<{ seq: number }>>(stream: ItemStream<I>) => stream;

/** A turn's frames on `<prefix>.<turnId>`. */
const frameStream = (prefix: string, stored: boolean) =>
  itemStream({
    subject: (turnId: string) => `${prefix}.${assertId(turnId)}`,
    wildcard: `${prefix}.*`,
    item: FrameSchema,
    isTerminal: (frame: Frame) => frame.type === 'done' || frame.type === 'error',
    stored,
    what: 'turn frames',
  });

export const TurnStreams = {
  /** responder → gateway, a conversation turn: stored, so a reply can be resumed from any gateway. */
  frames: frameStream('parley.turn.frames.v1', true),
  /** responder → gateway, a stateless turn (`/v1/chat/completions`): core NATS only, never stored. */
  liveFrames: frameStream('parley.turn.live.v1', false),
  /** inference → responder: the model's tokens. */
  chunks: itemStream({
    subject: (turnId: string) => `parley.inference.chunks.v1.${assertId(turnId)}`,
    wildcard: 'parley.inference.chunks.v1.*',
    item: ChunkSchema,
    isTerminal: (chunk: Chunk) => chunk.type === 'end' || chunk.type === 'error',
    stored: false,
    what: 'inference chunks',
  }),
} as const;

/** A request/reply subject served by one queue group. */
export interface Endpoint<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> {
  readonly subject: string;
  readonly request: Req;
  readonly reply: Rep;
  /** The service whose queue group answers. */
  readonly service: ServiceName;
  /** The error when no replica answers, or none in time. */
  readonly unavailable: ErrorCode;
  /** Whether the call and its handling are traced as spans (turns and generations; not probes). */
  readonly traced: boolean;
}

/** A request that starts a turn's stream: the reply says it was accepted, the items come on the stream. */
export interface StreamEndpoint<
  Req extends z.ZodType = z.ZodType,
  Rep extends z.ZodType = z.ZodType,
  I extends z.ZodType<{ seq: number }> = z.ZodType<{ seq: number }>,
> extends Endpoint<Req, Rep> {
  /** The stream the request's items come on. */
  readonly stream: (request: z.infer<Req>) => ItemStream<I>;
}

/** Check a definition and keep its schemas' types. */
const endpoint = <Req extends z.ZodType, Rep extends z.ZodType>(definition: Endpoint<Req, Rep>) => definition;
const streamEndpoint = <Req extends z.ZodType, Rep extends z.ZodType, I extends z.ZodType<{ seq: number }>>(
  definition: StreamEndpoint<Req, Rep, I>,
) => definition;

export const Endpoints = {
  /** gateway → responder: start a turn; replied to once the turn is accepted. */
  turnStart: streamEndpoint({
    subject: 'parley.turn.start.v1',
    request: TurnStartSchema,
    reply: TurnAcceptedSchema,
    service: 'responder',
    unavailable: 'no_responder',
    traced: true,
    stream: (turn: TurnStart) => (turn.kind === 'conversation' ? TurnStreams.frames : TurnStreams.liveFrames),
  }),
  /** gateway → responder: liveness probe for readiness checks. */
  responderPing: endpoint({
    subject: 'parley.responder.ping.v1',
    request: EmptySchema,
    reply: PingReplySchema,
    service: 'responder',
    unavailable: 'no_responder',
    traced: false,
  }),
  /** responder → inference: start generating; replied to once an upstream is chosen. */
  inferenceGenerate: streamEndpoint({
    subject: 'parley.inference.generate.v1',
    request: GenerateRequestSchema,
    reply: GenerateAcceptedSchema,
    service: 'inference',
    unavailable: 'no_inference',
    traced: true,
    stream: () => TurnStreams.chunks,
  }),
  /** gateway → inference: embed inputs (`/v1/embeddings`); replied to with the vectors. */
  inferenceEmbed: endpoint({
    subject: 'parley.inference.embed.v1',
    request: EmbedRequestSchema,
    reply: EmbedReplySchema,
    service: 'inference',
    unavailable: 'no_inference',
    traced: true,
  }),
  /** gateway → inference: liveness probe for readiness checks. */
  inferencePing: endpoint({
    subject: 'parley.inference.ping.v1',
    request: EmptySchema,
    reply: PingReplySchema,
    service: 'inference',
    unavailable: 'no_inference',
    traced: false,
  }),
  /** gateway → inference: the model aliases that can be asked for. */
  inferenceModels: endpoint({
    subject: 'parley.inference.models.v1',
    request: EmptySchema,
    reply: ModelsReplySchema,
    service: 'inference',
    unavailable: 'no_inference',
    traced: false,
  }),
} as const;

/** Subjects that every replica answers (no queue group): each reply is one replica's state. */
export const Broadcasts = {
  /** gateway → every inference replica: each target's breaker and load. */
  inferenceTargets: { subject: 'parley.inference.targets.v1', request: EmptySchema, reply: TargetStatesReplySchema },
} as const;

/** Stops a turn: the responder driving it and the inference replica generating it both listen. */
export const TurnCancel = {
  subject: (turnId: string) => `parley.turn.cancel.v1.${assertId(turnId)}`,
  wildcard: 'parley.turn.cancel.v1.*',
  message: CancelSchema,
} as const;

/** History of one conversation (one stream subject per conversation). */
export function historySubject(conversationId: string): string {
  return `parley.history.v1.${assertId(conversationId)}`;
}

/** JetStream streams and buckets. */
export const Streams = {
  history: { name: 'PARLEY_HISTORY', subjects: ['parley.history.v1.*'] },
  frames: { name: 'PARLEY_FRAMES', subjects: [TurnStreams.frames.wildcard] },
  /** What every turn consumed, by project: the durable record budgets are rebuilt from. */
  usage: { name: 'PARLEY_USAGE', subjects: ['parley.usage.v1.*'] },
} as const;

/** The usage stream's subject of one project. */
export function usageSubject(project: string): string {
  return `parley.usage.v1.${project}`;
}

export const Buckets = {
  conversations: 'parley_conversations',
  /** turn id → its conversation and owner, so a turn can be resumed or cancelled from any gateway. */
  turns: 'parley_turns',
  /** `<conversationId>.<key hash>` → the turn an `Idempotency-Key` created. */
  idempotency: 'parley_idempotency',
  /** turn id → the user's rating of the reply. */
  feedback: 'parley_feedback',
  /** `owner.<keyId>.<conversation>` → summary; `user.<hash>.<conversation>` → id (listing, per-user erasure). */
  index: 'parley_index',
  /** `project.<id>` → project; `key.<id>` → API key (digests of its secrets only). */
  accounts: 'parley_accounts',
  /** `<conversationId>.<turnId>` → the shadow target's reply to that turn, for comparison (never shown). */
  shadow: 'parley_shadow',
} as const;

/** NATS header names used between services. */
export const Headers = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Set on replies that carry an error instead of a result. */
  errorCode: 'Parley-Error-Code',
} as const;
