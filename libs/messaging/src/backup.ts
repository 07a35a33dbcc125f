/**
 * Backups of Parley's durable JetStream data, message by message: every stored message of the history stream
 * and of the conversations, index and feedback buckets, read with an ordered consumer per stream and written
 * as gzip'd JSON lines (subject, headers, data). A restore recreates the streams with {@link ensureJetStream}
 * and publishes the messages again in their order, so key-value semantics survive: a bucket's messages are
 * `$KV.<bucket>.<key>` subjects, and a deleted or purged key is a message with a `KV-Operation` header (a
 * purge also carries `Nats-Rollup`), restored like any other.
 *
 * Left out: the frames (expire after PARLEY_FRAMES_TTL_MS), turn records and idempotency keys (24 h): they
 * belong to turns in flight, which a restore does not bring back (docs/deploy.md, "Backup and restore").
 *
 * Not the server's snapshot API (`$JS.API.STREAM.SNAPSHOT`): that keeps sequence numbers, but its chunked,
 * flow-controlled protocol is not in the JavaScript client. What a message-level restore changes: stream
 * sequences and timestamps are new (the file keeps the old ones), and so are the buckets' revisions.
 *
 * The file, version 1, one JSON object per line:
 * - `{"type":"header","format":"parley-jetstream-backup","version":1,"createdAt":…,"server":{…}}`
 * - per stream `{"type":"stream","name":…,"config":{…},"state":{…}}` (as the source had them), then its
 *   messages `{"type":"message","seq":…,"time":…,"subject":…,"headers":{"name":["value"]},"data":"<base64>"}`
 * - `{"type":"end","messages":{"<stream>":<count>}}`: a file without it was cut short.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { jetstream, jetstreamManager, type JetStreamClient, type JsMsg, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { Buckets, ParleyError, Streams } from '@parley/contracts';
import { z } from 'zod';
import { validate } from './codec.js';
import { bucketStream, ensureJetStream, existingStream, type JetStreamOptions } from './jetstream.js';
import { StreamReadError, readStream } from './read-stream.js';

export const BACKUP_FORMAT = 'parley-jetstream-backup';
export const BACKUP_VERSION = 1;

/**
 * What a backup holds, in the order it reads them: history before the records, so that a conversation erased
 * while the backup runs (record first, history last) leaves at worst history without a record, which the
 * history stream's age limit drops, rather than a record that brings the conversation back.
 */
export const BACKUP_STREAMS: readonly string[] = [
  Streams.history.name,
  bucketStream(Buckets.conversations),
  bucketStream(Buckets.index),
  bucketStream(Buckets.feedback),
  Streams.usage.name,
  bucketStream(Buckets.accounts),
];

/** The streams {@link ensureJetStream} creates: the only ones a restore writes to. */
const PARLEY_STREAMS = new Set([
  ...Object.values(Streams).map((stream) => stream.name),
  ...Object.values(Buckets).map(bucketStream),
]);

/**
 * Headers that steered the original publish and would make the server refuse or drop the restored one: the
 * expected-sequence checks of a bucket's `update` (the sequences are new) and the deduplication id (two
 * messages published with one id further apart than the duplicate window are both stored, and both restored).
 */
const PUBLISH_ONLY_HEADER = /^nats-(expected-.*|msg-id)$/i;

/** Characters of lines handed to gzip at a time. */
const WRITE_CHUNK = 64 * 1024;
/** Publishes in flight during a restore: the server stores them in the order they are sent. */
const RESTORE_WINDOW = 256;
/** How long a stream may send nothing while messages are left before the backup fails. */
const IDLE_TIMEOUT_MS = 15_000;
const API_TIMEOUT_MS = 10_000;

/** An expected failure (a bad file, a refused restore, a missing stream): a message for an operator, one line. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

/** What a backup wrote or a restore read. */
export interface TransferSummary {
  file: string;
  streams: number;
  messages: number;
  /** The size of the (compressed) file. */
  bytes: number;
  durationMs: number;
  /** Messages per stream. */
  counts: Record<string, number>;
}

export interface BackupOptions {
  /** The streams to read; by default {@link BACKUP_STREAMS}. */
  streams?: readonly string[];
  /** How long a stream may send nothing while messages are left. */
  idleTimeoutMs?: number;
  apiTimeoutMs?: number;
}

const HeaderLine = z.object({
  type: z.literal('header'),
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  createdAt: z.iso.datetime(),
  server: z.object({ name: z.string().optional(), version: z.string().optional() }),
});
const StreamLine = z.object({
  type: z.literal('stream'),
  name: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  state: z.record(z.string(), z.unknown()),
});
const MessageLine = z.object({
  type: z.literal('message'),
  seq: z.number().int().positive(),
  time: z.string(),
  subject: z.string().min(1),
  headers: z.record(z.string(), z.array(z.string())).optional(),
  data: z.base64(),
});
const EndLine = z.object({ type: z.literal('end'), messages: z.record(z.string(), z.number().int().nonnegative()) });
const Line = z.discriminatedUnion('type', [StreamLine, MessageLine, EndLine]);
type MessageLine = z.infer<typeof MessageLine>;

/**
 * Writes a backup of `streams` to `file` (which must not exist): each stream is read up to where it is when
 * the read catches up, so what was written while the backup ran may be in it. The file appears only once
 * complete (it is written as `<file>.partial` and renamed).
 *
 * @throws BackupError when the file exists, a stream is missing or a read stalls.
 */
export async function backupJetStream(
  nc: NatsConnection,
  file: string,
  { streams = BACKUP_STREAMS, idleTimeoutMs = IDLE_TIMEOUT_MS, apiTimeoutMs = API_TIMEOUT_MS }: BackupOptions = {},
): Promise<TransferSummary> {
  const started = performance.now();
  if (existsSync(file)) throw new BackupError(`${file} exists: a backup never overwrites one`);
  const jsm = await jetstreamManager(nc, { timeout: apiTimeoutMs });
  const js = jetstream(nc, { timeout: apiTimeoutMs });
  const counts: Record<string, number> = {};
  async function* lines(): AsyncGenerator<string> {
    const server = { name: nc.info?.server_name, version: nc.info?.version };
    yield line({ type: 'header', format: BACKUP_FORMAT, version: BACKUP_VERSION, createdAt: now(), server });
    for (const name of streams) {
      const info = await existingStream(jsm, name);
      if (!info) throw new BackupError(`stream ${name} not found: is NATS_URL Parley's NATS? (its services create it)`);
      yield line({ type: 'stream', name, config: info.config, state: info.state });
      counts[name] = 0;
      // Lines go to gzip in chunks of about WRITE_CHUNK characters: one write per line costs more than the line.
      let chunk = '';
      if (info.state.messages === 0) continue;
      try {
        for await (const msg of readStream(js, info.config.name, { idleTimeoutMs })) {
          chunk += line(messageLine(msg));
          counts[name] += 1;
          if (chunk.length >= WRITE_CHUNK) {
            yield chunk;
            chunk = '';
          }
        }
      } catch (error) {
        if (error instanceof StreamReadError) throw new BackupError(error.message, { cause: error });
        throw error;
      }
      if (chunk) yield chunk;
    }
    yield line({ type: 'end', messages: counts });
  }
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return summary(file, counts, started);
}

export interface RestoreOptions {
  /** Restore into streams that hold messages: they are purged first, so they end up holding the backup. */
  force?: boolean;
  /** How the streams are created (the services' own settings: replicas, frames' age). */
  jetstream?: JetStreamOptions;
  apiTimeoutMs?: number;
}

/**
 * Restores a backup: reads the whole file first (nothing is written unless it is complete and valid), refuses
 * streams that hold messages unless `force`, creates every stream and bucket, and publishes the messages again.
 * A restore that fails half-way leaves part of the backup: run it again with `force`.
 *
 * @throws BackupError when the file is not a complete backup of a version this release reads, or a stream
 *   is not empty without `force`.
 */
export async function restoreJetStream(
  nc: NatsConnection,
  file: string,
  { force = false, jetstream: options = {}, apiTimeoutMs = API_TIMEOUT_MS }: RestoreOptions = {},
): Promise<TransferSummary> {
  const started = performance.now();
  const manifest = await verifyBackup(file);
  const jsm = await jetstreamManager(nc, { timeout: apiTimeoutMs });
  const held: [string, number][] = [];
  for (const name of Object.keys(manifest.counts)) {
    const messages = (await existingStream(jsm, name))?.state.messages ?? 0;
    if (messages > 0) held.push([name, messages]);
  }
  if (held.length > 0 && !force) {
    const list = held.map(([name, messages]) => `${name} holds ${messages}`).join(', ');
    throw new BackupError(`not restoring into streams with messages (${list}): --force replaces them with the backup`);
  }
  await ensureJetStream(nc, { apiTimeoutMs, ...options });
  for (const [name] of held) await jsm.streams.purge(name);
  const js = jetstream(nc, { timeout: apiTimeoutMs });
  try {
    return summary(file, await publishAll(js, file, Object.keys(manifest.counts)), started);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BackupError(`restore stopped part-way (${reason}): run it again with --force`, { cause: error });
  }
}

/** What a valid backup file holds; reading it changes nothing. */
export interface BackupManifest {
  createdAt: string;
  counts: Record<string, number>;
}

/**
 * Reads a whole backup file and checks it: gzip (its checksum), the format and version, every line, and the
 * end line's counts.
 *
 * @throws BackupError naming the file and what is wrong with it.
 */
export async function verifyBackup(file: string): Promise<BackupManifest> {
  return readBackup(file, () => undefined);
}

/** Publishes a verified backup's messages in order, `RESTORE_WINDOW` at a time; returns them per stream. */
async function publishAll(js: JetStreamClient, file: string, streams: string[]): Promise<Record<string, number>> {
  let pending: Promise<void>[] = [];
  const stored: Record<string, number> = Object.fromEntries(streams.map((name) => [name, 0]));
  const flush = async () => {
    const batch = pending;
    pending = [];
    await Promise.all(batch);
  };
  try {
    await readBackup(file, async (stream, message) => {
      const options = { headers: restoredHeaders(message.headers) };
      pending.push(
        js.publish(message.subject, Buffer.from(message.data, 'base64'), options).then((ack: PubAck) => {
          if (ack.stream !== stream) {
            throw new BackupError(`${message.subject} (from ${stream}) was stored in ${ack.stream}: restore stopped`);
          }
          stored[stream]! += 1;
        }),
      );
      if (pending.length >= RESTORE_WINDOW) await flush();
    });
    await flush();
  } finally {
    // A read that failed with publishes in flight: they settle before the error is reported.
    await Promise.allSettled(pending);
  }
  return stored;
}

/**
 * Reads a backup line by line, calling `onMessage` for each message with its stream, and returns the manifest.
 * Every structural problem is a BackupError.
 */
async function readBackup(
  file: string,
  onMessage: (stream: string, message: MessageLine) => void | Promise<void>,
): Promise<BackupManifest> {
  const fail = (problem: string): never => {
    throw new BackupError(`${file} is not a usable backup: ${problem}`);
  };
  let createdAt: string | undefined;
  let stream: string | undefined;
  let ended: Record<string, number> | undefined;
  const counts: Record<string, number> = {};
  let number = 0;
  try {
    await pipeline(createReadStream(file), createGunzip(), async (source) => {
      // The source is the gunzip stream itself; its errors (a damaged or cut file) fail the pipeline. readline
      // passes them on as its own 'error' events too, also when the read stopped at a bad line: those are
      // the pipeline's to report.
      const lines = createInterface({ input: source as Readable, crlfDelay: Infinity }).on('error', () => undefined);
      for await (const text of lines) {
        number += 1;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          fail(`line ${number} is not JSON`);
        }
        if (number === 1) {
          createdAt = header(value, fail).createdAt;
          continue;
        }
        if (ended) fail(`line ${number} follows the end line`);
        const entry = checked(Line, value, `line ${number}`, fail);
        if (entry.type === 'stream') {
          if (!PARLEY_STREAMS.has(entry.name)) fail(`line ${number}: ${entry.name} is not a stream of Parley's`);
          if (entry.name in counts) fail(`line ${number}: stream ${entry.name} appears twice`);
          stream = entry.name;
          counts[stream] = 0;
        } else if (entry.type === 'message') {
          if (!stream) fail(`line ${number}: a message before any stream line`);
          counts[stream!] += 1;
          await onMessage(stream!, entry);
        } else {
          ended = entry.messages;
        }
      }
    });
  } catch (error) {
    if (error instanceof BackupError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BackupError(`${file} does not exist`);
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
      fail(`not gzip or damaged (${(error as Error).message})`);
    }
    throw error;
  }
  if (number === 0) fail('it is empty');
  if (!ended) fail('it has no end line (cut short)');
  const mismatch = new Set([...Object.keys(counts), ...Object.keys(ended!)]);
  for (const name of mismatch) {
    if (counts[name] !== ended![name]) {
      fail(`${name} has ${counts[name] ?? 0} messages, its end line says ${ended![name] ?? 'none'}`);
    }
  }
  return { createdAt: createdAt!, counts };
}

/** The header line, with a message for a file of another kind or another version. */
function header(value: unknown, fail: (problem: string) => never): z.infer<typeof HeaderLine> {
  const loose = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(value);
  if (!loose.success || loose.data.format !== BACKUP_FORMAT) fail(`it does not start with a ${BACKUP_FORMAT} header`);
  const { version } = loose.data!;
  if (version !== BACKUP_VERSION) {
    fail(`it is format version ${JSON.stringify(version)}, this release reads version ${BACKUP_VERSION}`);
  }
  return checked(HeaderLine, value, 'line 1', fail);
}

/** {@link validate}, failing the read with the problem. */
function checked<S extends z.ZodType>(schema: S, value: unknown, what: string, fail: (problem: string) => never) {
  try {
    return validate(schema, value, what);
  } catch (error) {
    if (error instanceof ParleyError) fail(error.message);
    throw error;
  }
}

function messageLine(msg: JsMsg): MessageLine {
  const headers = msg.headers ? headerRecord(msg.headers) : undefined;
  return {
    type: 'message',
    seq: msg.seq,
    time: msg.time.toISOString(),
    subject: msg.subject,
    ...(headers ? { headers } : {}),
    data: Buffer.from(msg.data).toString('base64'),
  };
}

function headerRecord(headers: MsgHdrs): Record<string, string[]> | undefined {
  const keys = headers.keys();
  return keys.length === 0 ? undefined : Object.fromEntries(keys.map((key) => [key, headers.values(key)]));
}

function restoredHeaders(record: Record<string, string[]> | undefined): MsgHdrs | undefined {
  const kept = Object.entries(record ?? {}).filter(([key]) => !PUBLISH_ONLY_HEADER.test(key));
  if (kept.length === 0) return undefined;
  const headers = natsHeaders();
  for (const [key, values] of kept) for (const value of values) headers.append(key, value);
  return headers;
}

async function summary(file: string, counts: Record<string, number>, started: number): Promise<TransferSummary> {
  return {
    file,
    streams: Object.keys(counts).length,
    messages: Object.values(counts).reduce((sum, count) => sum + count, 0),
    bytes: (await stat(file)).size,
    durationMs: performance.now() - started,
    counts,
  };
}

const line = (value: object) => `${JSON.stringify(value)}\n`;
const now = () => new Date().toISOString();
