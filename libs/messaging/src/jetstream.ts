/**
 * JetStream resources: the history stream, the frames stream and the conversations bucket. Every service calls
 * {@link ensureJetStream} at start; creating an existing resource with the same configuration is a no-op.
 */
import {
  DiscardPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { Buckets, Streams } from '@parley/contracts';

/** Frames are kept long enough for a client to reconnect and resume, then dropped (default). */
export const FRAMES_MAX_AGE_MS = 15 * 60_000;
/** Turn and idempotency records live this long. */
export const RECORDS_TTL_MS = 24 * 60 * 60_000;
/** Window in which a repeated message id is recognised as a duplicate (idempotent appends). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Upper bound on one conversation's stored messages (oldest dropped first). */
export const HISTORY_MAX_MESSAGES_PER_CONVERSATION = 10_000;

export interface JetStreamHandles {
  js: JetStreamClient;
  jsm: JetStreamManager;
  conversations: KV;
  turns: KV;
  idempotency: KV;
  feedback: KV;
  index: KV;
}

export async function ensureJetStream(
  nc: NatsConnection,
  { framesMaxAgeMs = FRAMES_MAX_AGE_MS }: { framesMaxAgeMs?: number } = {},
): Promise<JetStreamHandles> {
  const jsm = await jetstreamManager(nc);
  await addOrUpdate(jsm, {
    name: Streams.history.name,
    subjects: [...Streams.history.subjects],
    storage: StorageType.File,
    max_msgs_per_subject: HISTORY_MAX_MESSAGES_PER_CONVERSATION,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  await addOrUpdate(jsm, {
    name: Streams.frames.name,
    subjects: [...Streams.frames.subjects],
    storage: StorageType.File,
    max_age: nanos(framesMaxAgeMs),
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const kvm = new Kvm(nc);
  const conversations = await kvm.create(Buckets.conversations, { history: 1, storage: StorageType.File });
  const records = { history: 1, storage: StorageType.File, ttl: RECORDS_TTL_MS };
  const turns = await kvm.create(Buckets.turns, records);
  const idempotency = await kvm.create(Buckets.idempotency, records);
  const feedback = await kvm.create(Buckets.feedback, { history: 1, storage: StorageType.File });
  const index = await kvm.create(Buckets.index, { history: 1, storage: StorageType.File });
  return { js: jetstream(nc), jsm, conversations, turns, idempotency, feedback, index };
}

type StreamConfig = Parameters<JetStreamManager['streams']['add']>[0];

async function addOrUpdate(jsm: JetStreamManager, config: StreamConfig & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}

/** Removes every stored message on one subject of a stream (erasure). */
export async function purgeSubject(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  const { purged } = await jsm.streams.purge(stream, { filter: subject });
  return purged;
}

/** How many messages a stream holds on one subject. */
export async function countSubject(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}
