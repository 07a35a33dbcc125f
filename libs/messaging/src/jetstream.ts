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
import { isDeepStrictEqual } from 'node:util';

/** Frames are kept long enough for a client to reconnect and resume, then dropped (default). */
export const FRAMES_MAX_AGE_MS = 15 * 60_000;
/** Turn and idempotency records live this long. */
export const RECORDS_TTL_MS = 24 * 60 * 60_000;
/** Window in which a repeated message id is recognised as a duplicate (idempotent appends). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/**
 * Options for every stored publish (history, frames): a publish sent just as the client's server went away
 * gets no answer, so each attempt waits 2 s, not the client's default 5 s; one that finds no stream leader (a
 * cluster electing a new one after a node failed, about 2 s) is retried after the client's backoff. Every
 * stored publish carries a message id, so a retry of a publish that did land is recognised as a duplicate.
 */
export const STORED_PUBLISH = { timeout: 2_000, retries: 7 } as const;
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

export interface JetStreamOptions {
  /** How long frames are kept for resuming. */
  framesMaxAgeMs?: number;
  /** Copies of every stream and bucket (1 on a single server, 3 on a three-node cluster). */
  replicas?: number;
}

export async function ensureJetStream(
  nc: NatsConnection,
  { framesMaxAgeMs = FRAMES_MAX_AGE_MS, replicas = 1 }: JetStreamOptions = {},
): Promise<JetStreamHandles> {
  const jsm = await jetstreamManager(nc);
  await addOrUpdate(jsm, {
    name: Streams.history.name,
    subjects: [...Streams.history.subjects],
    storage: StorageType.File,
    num_replicas: replicas,
    max_msgs_per_subject: HISTORY_MAX_MESSAGES_PER_CONVERSATION,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  await addOrUpdate(jsm, {
    name: Streams.frames.name,
    subjects: [...Streams.frames.subjects],
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(framesMaxAgeMs),
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const kvm = new Kvm(nc);
  const bucket = async (name: string, ttl?: number): Promise<KV> => {
    const kv = await kvm.create(name, { history: 1, storage: StorageType.File, replicas, ...(ttl ? { ttl } : {}) });
    // An existing bucket keeps its settings on create; raise or lower its copies when the cluster changed.
    const info = await jsm.streams.info(`KV_${name}`);
    if (info.config.num_replicas !== replicas) {
      await jsm.streams.update(info.config.name, { ...info.config, num_replicas: replicas });
    }
    return kv;
  };
  const conversations = await bucket(Buckets.conversations);
  const turns = await bucket(Buckets.turns, RECORDS_TTL_MS);
  const idempotency = await bucket(Buckets.idempotency, RECORDS_TTL_MS);
  const feedback = await bucket(Buckets.feedback);
  const index = await bucket(Buckets.index);
  return { js: jetstream(nc), jsm, conversations, turns, idempotency, feedback, index };
}

type StreamConfig = Parameters<JetStreamManager['streams']['add']>[0];

async function addOrUpdate(jsm: JetStreamManager, config: StreamConfig & { name: string }): Promise<void> {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(config.name)).config;
  } catch {
    await jsm.streams.add(config);
    return;
  }
  // Every service runs this at start: update only what differs, so a clustered stream is not disturbed
  // (an update goes through the stream's leader and makes its peers apply it) on every restart.
  const differs = Object.entries(config).some(
    ([key, value]) => !isDeepStrictEqual(current[key as keyof StreamConfig], value),
  );
  if (differs) await jsm.streams.update(config.name, { ...current, ...config });
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
