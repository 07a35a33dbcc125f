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

/** Frames are kept long enough for a client to reconnect and resume, then dropped. */
export const FRAMES_MAX_AGE_MS = 15 * 60_000;
/** Window in which a repeated message id is recognised as a duplicate (idempotent appends). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Upper bound on one conversation's stored messages (oldest dropped first). */
export const HISTORY_MAX_MESSAGES_PER_CONVERSATION = 10_000;

export interface JetStreamHandles {
  js: JetStreamClient;
  jsm: JetStreamManager;
  conversations: KV;
}

export async function ensureJetStream(nc: NatsConnection): Promise<JetStreamHandles> {
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
    max_age: nanos(FRAMES_MAX_AGE_MS),
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const conversations = await new Kvm(nc).create(Buckets.conversations, { history: 1, storage: StorageType.File });
  return { js: jetstream(nc), jsm, conversations };
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
