/**
 * JetStream resources: the history stream, the frames stream and the conversations bucket. Every service calls
 * {@link ensureJetStream} at start; creating an existing resource with the same configuration is a no-op.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  JetStreamError,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { errors, nanos, type NatsConnection } from '@nats-io/transport-node';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Buckets, Streams } from '@parley/contracts';
import type { Logger } from '@parley/tracing';
import { isDeepStrictEqual } from 'node:util';

/** Frames are kept long enough for a client to reconnect and resume, then dropped (default). */
export const FRAMES_MAX_AGE_MS = 15 * 60_000;
/** Turn and idempotency records live this long. */
export const RECORDS_TTL_MS = 24 * 60 * 60_000;
/** How long shadow replies are kept for comparison: 30 days. */
export const SHADOW_TTL_MS = 30 * 24 * 60 * 60_000;
/** Window in which a repeated message id is recognised as a duplicate (idempotent appends). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/**
 * Options for every stored publish (history, frames): a publish sent just as the client's server went away
 * gets no answer, so each attempt waits 2 s, not the client's default 5 s; one that finds no stream leader (a
 * cluster electing a new one after a node failed, about 2 s) is retried after the client's backoff. Every
 * stored publish carries a message id, so a retry of a publish that did land is recognised as a duplicate.
 */
export const STORED_PUBLISH = { timeout: 2_000, retries: 7 } as const;
/** Usage records are kept this long: budgets per month, and reports over a year. */
export const USAGE_MAX_AGE_MS = 400 * 24 * 60 * 60_000;
/** Upper bound on one conversation's stored messages (oldest dropped first). */
export const HISTORY_MAX_MESSAGES_PER_CONVERSATION = 10_000;

export interface JetStreamHandles {
  js: JetStreamClient;
  jsm: JetStreamManager;
  conversations: KV;
  turns: KV;
  idempotency: KV;
  feedback: KV;
  /** Shadow replies, `<conversationId>.<turnId>`; kept SHADOW_TTL_MS. */
  shadow: KV;
  index: KV;
  accounts: KV;
}

export interface JetStreamOptions {
  /** How long frames are kept for resuming. */
  framesMaxAgeMs?: number;
  /**
   * The history stream's age limit (0: none). Left as it is when undefined: only the responder, which knows
   * the retention period, sets it ({@link historyAgeLimitMs}); the other services create the stream without.
   */
  historyMaxAgeMs?: number;
  /** Copies of every stream and bucket (1 on a single server, 3 on a three-node cluster). */
  replicas?: number;
  /** How long each JetStream API request may take. */
  apiTimeoutMs?: number;
  /** Where a failed attempt that will be retried is logged. */
  log?: Logger;
}

/** Attempts after the first when the JetStream API is slow or not there yet. */
const SETUP_RETRIES = 3;
/** The JetStream client's own default. */
const API_TIMEOUT_MS = 5_000;

/**
 * Errors that a later attempt can get past: a server too busy to answer in time (it happened with services
 * starting together on a loaded machine), no JetStream yet, or a cluster still electing its leader (503).
 */
function isTransient(error: Error): boolean {
  return (
    error instanceof errors.TimeoutError ||
    error.cause instanceof errors.TimeoutError ||
    (error instanceof JetStreamError && error.name === 'JetStreamNotEnabled') ||
    (error instanceof JetStreamApiError && error.status === 503)
  );
}

/**
 * Creates or updates every stream and bucket; each step is idempotent, so a transient failure retries the whole
 * set-up (at most {@link SETUP_RETRIES} times, with backoff). Bounded: within a 30 s start-up probe by default.
 *
 * @throws the last error when the set-up still fails, or at once when it is not transient.
 */
export async function ensureJetStream(
  nc: NatsConnection,
  { log, ...options }: JetStreamOptions = {},
): Promise<JetStreamHandles> {
  const policy = retry(
    handleWhen((error) => error instanceof Error && isTransient(error)),
    { maxAttempts: SETUP_RETRIES, backoff: new ExponentialBackoff({ initialDelay: 250, maxDelay: 2_000 }) },
  );
  policy.onRetry((event) => {
    if ('error' in event) log?.warn({ err: event.error, retryInMs: event.delay }, 'JetStream set-up failed; retrying');
  });
  return policy.execute(() => setUp(nc, options));
}

async function setUp(
  nc: NatsConnection,
  {
    framesMaxAgeMs = FRAMES_MAX_AGE_MS,
    historyMaxAgeMs,
    replicas = 1,
    apiTimeoutMs = API_TIMEOUT_MS,
  }: JetStreamOptions,
): Promise<JetStreamHandles> {
  const jsm = await jetstreamManager(nc, { timeout: apiTimeoutMs });
  await addOrUpdate(jsm, {
    name: Streams.history.name,
    subjects: [...Streams.history.subjects],
    storage: StorageType.File,
    num_replicas: replicas,
    max_msgs_per_subject: HISTORY_MAX_MESSAGES_PER_CONVERSATION,
    ...(historyMaxAgeMs === undefined ? {} : { max_age: nanos(historyMaxAgeMs) }),
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
  await addOrUpdate(jsm, {
    name: Streams.usage.name,
    subjects: [...Streams.usage.subjects],
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(USAGE_MAX_AGE_MS),
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const kvm = new Kvm(jetstream(nc, { timeout: apiTimeoutMs }));
  const bucket = async (name: string, ttl?: number): Promise<KV> => {
    const kv = await kvm
      .create(name, { history: 1, storage: StorageType.File, replicas, ...(ttl ? { ttl } : {}) })
      .catch(async (error: unknown) => {
        // The same race as in addOrUpdate: the loser's create fails although the bucket it wanted is there.
        if ((await existingStream(jsm, bucketStream(name))) === undefined) throw error;
        return kvm.open(name);
      });
    // An existing bucket keeps its settings on create; raise or lower its copies when the cluster changed.
    const info = await jsm.streams.info(bucketStream(name));
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
  const accounts = await bucket(Buckets.accounts);
  const shadow = await bucket(Buckets.shadow, SHADOW_TTL_MS);
  return { js: jetstream(nc), jsm, conversations, turns, idempotency, feedback, index, accounts, shadow };
}

/** The stream that holds a key-value bucket. */
export function bucketStream(bucket: string): string {
  return `KV_${bucket}`;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * The history stream's age limit for a retention period: a backstop one day (or one sweep, if longer) past
 * it, so the retention sweep, which erases a conversation's record, index entries and history together, always
 * comes first. The limit only drops history the sweep missed: a conversation whose record went while its history
 * stayed (an erasure during a backup), or every conversation while no responder sweeps. 0 without retention.
 */
export function historyAgeLimitMs(retentionDays: number | undefined, sweepMs: number): number {
  return retentionDays === undefined ? 0 : Math.round(retentionDays * DAY_MS) + Math.max(DAY_MS, sweepMs);
}

type StreamConfig = Parameters<JetStreamManager['streams']['add']>[0];

async function addOrUpdate(jsm: JetStreamManager, config: StreamConfig & { name: string }): Promise<void> {
  let current = (await existingStream(jsm, config.name))?.config;
  if (current === undefined) {
    try {
      await jsm.streams.add(config);
      return;
    } catch (error) {
      // Services starting together race to create it; the loser's add fails ("subjects overlap" on nats-server
      // 2.9) although the stream it wanted is there. Only a stream that is still missing is an error.
      current = (await existingStream(jsm, config.name))?.config;
      if (current === undefined) throw error;
    }
  }
  // Every service runs this at start: update only what differs, so a clustered stream is not disturbed
  // (an update goes through the stream's leader and makes its peers apply it) on every restart.
  const base = current;
  const differs = Object.entries(config).some(
    ([key, value]) => !isDeepStrictEqual(base[key as keyof StreamConfig], value),
  );
  if (differs) await jsm.streams.update(config.name, { ...base, ...config });
}

/** The stream's info, or `undefined` when there is no such stream. */
export async function existingStream(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
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
