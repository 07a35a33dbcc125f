/**
 * The one registry of NATS subject names: `parley.<entity>.<event>.v<version>[.<id>]`.
 * Subjects never embed raw user input: every id passed in here must have passed {@link assertId}.
 */
import { assertId } from './ids.js';

/** Queue groups: every replica of a service joins its group, so each request reaches exactly one replica. */
export const QueueGroups = {
  responder: 'parley-responder',
  inference: 'parley-inference',
} as const;

/** Fixed subjects served by a queue group (request/reply). */
export const Subjects = {
  /** gateway → responder: start a turn; replied to once the turn is accepted. */
  turnStart: 'parley.turn.start.v1',
  /** gateway → responder: liveness probe for readiness checks. */
  responderPing: 'parley.responder.ping.v1',
  /** responder → inference: start generating; replied to once an upstream is chosen. */
  inferenceGenerate: 'parley.inference.generate.v1',
  /** gateway → inference: liveness probe for readiness checks. */
  inferencePing: 'parley.inference.ping.v1',
  /** gateway → inference: the model aliases that can be asked for. */
  inferenceModels: 'parley.inference.models.v1',
  /** gateway → every inference replica (no queue group): each target's breaker and load. */
  inferenceTargets: 'parley.inference.targets.v1',
} as const;

/** Wildcards that services subscribe to without a queue group (every replica sees every message). */
export const SubjectWildcards = {
  turnCancel: 'parley.turn.cancel.v1.*',
  turnFrames: 'parley.turn.frames.v1.*',
  history: 'parley.history.v1.*',
} as const;

/** Frames of a stored turn (captured by the frames stream so a client can resume). */
export function turnFramesSubject(turnId: string): string {
  return `parley.turn.frames.v1.${assertId(turnId)}`;
}

/** Frames of a stateless turn (`/v1/chat/completions`): core NATS only, never stored. */
export function liveFramesSubject(turnId: string): string {
  return `parley.turn.live.v1.${assertId(turnId)}`;
}

/** Cancel a turn: the responder and the inference replica working on it both listen. */
export function turnCancelSubject(turnId: string): string {
  return `parley.turn.cancel.v1.${assertId(turnId)}`;
}

/** Token chunks from inference to the responder driving the turn. */
export function inferenceChunksSubject(turnId: string): string {
  return `parley.inference.chunks.v1.${assertId(turnId)}`;
}

/** History of one conversation (one stream subject per conversation). */
export function historySubject(conversationId: string): string {
  return `parley.history.v1.${assertId(conversationId)}`;
}

/** The last token of a subject: the id that a wildcard subscription matched. */
export function subjectId(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** JetStream streams and buckets. */
export const Streams = {
  history: { name: 'PARLEY_HISTORY', subjects: [SubjectWildcards.history] },
  frames: { name: 'PARLEY_FRAMES', subjects: [SubjectWildcards.turnFrames] },
} as const;

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
} as const;

/** NATS header names used between services. */
export const Headers = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Set on replies that carry an error instead of a result. */
  errorCode: 'Parley-Error-Code',
} as const;
