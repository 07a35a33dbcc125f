import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { Streams, TurnStreams, newId, type ConversationRecord } from '@parley/contracts';
import { NatsServerPool, type NatsServerHandle } from '@parley/testing';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_STREAMS, BackupError, backupJetStream, restoreJetStream } from './backup.js';
import { runBackupCli } from './backup-cli.js';
import { encode } from './codec.js';
import { ConversationIndex } from './conversation-index.js';
import { HistoryStore } from './history.js';
import { userEntry } from './history.test-kit.js';
import { bucketStream, ensureJetStream, type JetStreamHandles } from './jetstream.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-backup-'));
const pool = new NatsServerPool();

afterAll(async () => {
  await pool.stop();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => join(dir, name);
const text = (kv: KV, key: string) => kv.get(key).then((entry) => entry?.string());

/** Conversations as the product stores them: history entries and records in the three buckets. */
async function writeConversations(jetstream: JetStreamHandles) {
  const history = new HistoryStore(jetstream.js, jetstream.jsm);
  const index = new ConversationIndex(jetstream.index);
  const ids = [newId('conversation'), newId('conversation'), newId('conversation')];
  for (const [n, id] of ids.entries()) {
    const createdAt = new Date(Date.UTC(2025, 0, 2 + n)).toISOString();
    const record: ConversationRecord = { id, ownerKeyId: 'key1', model: 'sim', createdAt, externalUserId: `user-${n}` };
    await jetstream.conversations.put(id, encode(record));
    await index.put('key1', { id, model: 'sim', createdAt, updatedAt: createdAt, messageCount: 10 + n * 40 });
    await index.addUser('key1', `user-${n}`, id);
    for (let turn = 0; turn < 5 + n * 20; turn++) {
      const entry = userEntry(`message ${turn} of ${id}: ünïcode ✓ ${'x'.repeat(turn)}`);
      await history.append(id, entry, `${entry.turnId}.user`);
      await history.append(id, { ...entry, id: newId('message'), role: 'assistant' }, `${entry.turnId}.assistant`);
    }
    await jetstream.feedback.put(newId('turn'), JSON.stringify({ conversationId: id, rating: n % 2 ? 'up' : 'down' }));
  }
  // A record updated by revision (its stored message says which revision it expected), one deleted, one purged.
  const first = (await jetstream.conversations.get(ids[0]!))!;
  const renamed = { ...first.json<ConversationRecord>(), metadata: { title: 'renamed' } };
  await jetstream.conversations.update(ids[0]!, encode(renamed), first.revision);
  const deleted = newId('conversation');
  await jetstream.conversations.put(deleted, '{"gone":true}');
  await jetstream.conversations.delete(deleted);
  const purged = `owner.key1.${newId('conversation')}`;
  await jetstream.index.put(purged, '{}');
  await jetstream.index.purge(purged);
  // Not backed up: a turn's frames, its record and an idempotency key.
  const turnId = newId('turn');
  await jetstream.js.publish(TurnStreams.frames.subject(turnId), '{"seq":0}');
  await jetstream.turns.put(turnId, '{}');
  await jetstream.idempotency.put(`${ids[0]}.abc`, turnId);
  return { ids, deleted, purged };
}

/** What the product reads back: every conversation's history and every live key of the backed-up buckets. */
async function contents(jetstream: JetStreamHandles, ids: string[]) {
  const history = new HistoryStore(jetstream.js, jetstream.jsm);
  const bucket = async (kv: KV) => {
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    keys.sort();
    return Object.fromEntries(await Promise.all(keys.map(async (key) => [key, await text(kv, key)])));
  };
  return {
    history: Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await history.list(id)]))),
    conversations: await bucket(jetstream.conversations),
    index: await bucket(jetstream.index),
    feedback: await bucket(jetstream.feedback),
  };
}

const messageCount = async (jetstream: JetStreamHandles, stream: string) =>
  (await jetstream.jsm.streams.info(stream)).state.messages;

describe('backup and restore', () => {
  let written: Awaited<ReturnType<typeof writeConversations>>;
  let before: Awaited<ReturnType<typeof contents>>;
  let target: { nc: NatsConnection; jetstream: JetStreamHandles };
  const backup = file('round-trip.jsonl.gz');

  beforeAll(async () => {
    const source = await pool.start();
    const jetstream = await ensureJetStream(source.nc);
    written = await writeConversations(jetstream);
    before = await contents(jetstream, written.ids);
    const summary = await backupJetStream(source.nc, backup);
    expect(summary).toMatchObject({ streams: BACKUP_STREAMS.length, file: backup });
    // 3 conversations of 5, 25 and 45 turns, two entries each; 3 records + 1 deleted; 6 index keys + 1
    // purged; 3 ratings.
    expect(summary.counts).toEqual({
      [Streams.history.name]: 150,
      [bucketStream('parley_conversations')]: 4,
      [bucketStream('parley_index')]: 7,
      [bucketStream('parley_feedback')]: 3,
      [Streams.usage.name]: 0,
      [bucketStream('parley_accounts')]: 0,
    });
    expect(summary.bytes).toBe(readFileSync(backup).byteLength);
    // The old store is gone for good; the restore goes to a new server with nothing on it.
    await source.nc.close();
    await source.server.stop();
    const fresh = await pool.start();
    target = { nc: fresh.nc, jetstream: await ensureJetStream(fresh.nc) };
  });

  it('backup and restore - every conversation comes back as it was, and the deleted key stays deleted', async () => {
    const summary = await restoreJetStream(target.nc, backup);
    expect(summary).toMatchObject({ streams: BACKUP_STREAMS.length, messages: 164 });
    const after = await contents(target.jetstream, written.ids);
    expect(after).toEqual(before);
    expect(Object.keys(after.history)).toHaveLength(3);
    expect(after.history[written.ids[2]!]).toHaveLength(90);
    expect(after.conversations[written.ids[0]!]).toContain('renamed');
    // Deleted and purged keys are markers in the restored buckets too: no value, and not listed.
    expect((await target.jetstream.conversations.get(written.deleted))?.operation).toBe('DEL');
    expect(after.conversations).not.toHaveProperty(written.deleted);
    expect((await target.jetstream.index.get(written.purged))?.operation).toBe('PURGE');
    // What expires on its own is not in a backup.
    expect(await messageCount(target.jetstream, Streams.frames.name)).toBe(0);
    expect(await messageCount(target.jetstream, bucketStream('parley_turns'))).toBe(0);
    expect(await messageCount(target.jetstream, bucketStream('parley_idempotency'))).toBe(0);
    // A restored conversation goes on: a new entry lands after the old ones.
    const history = new HistoryStore(target.jetstream.js, target.jetstream.jsm);
    await history.append(written.ids[0]!, userEntry('after the restore'), 'after.user');
    expect((await history.list(written.ids[0]!)).at(-1)?.content).toBe('after the restore');
  });

  it('backup and restore - refuses streams that hold messages, and --force replaces them with the backup', async () => {
    const held = await messageCount(target.jetstream, Streams.history.name);
    expect(held).toBeGreaterThan(0);
    await expect(restoreJetStream(target.nc, backup)).rejects.toThrow(
      new BackupError(
        `not restoring into streams with messages (PARLEY_HISTORY holds ${held}, KV_parley_conversations holds 4, ` +
          'KV_parley_index holds 7, KV_parley_feedback holds 3): --force replaces them with the backup',
      ),
    );
    expect(await messageCount(target.jetstream, Streams.history.name)).toBe(held);
    await target.jetstream.feedback.put(newId('turn'), 'written after the backup');

    await restoreJetStream(target.nc, backup, { force: true });
    expect(await contents(target.jetstream, written.ids)).toEqual(before);
    expect(await messageCount(target.jetstream, Streams.history.name)).toBe(150);
  });
});

describe('backup and restore - bad files', () => {
  let nc: NatsConnection;
  let good: Buffer;

  beforeAll(async () => {
    const source = await pool.start();
    const jetstream = await ensureJetStream(source.nc);
    await writeConversations(jetstream);
    await backupJetStream(source.nc, file('good.jsonl.gz'));
    good = readFileSync(file('good.jsonl.gz'));
    ({ nc } = await pool.start());
  });

  /** The backup's lines, changed by `edit`, gzip'd again. */
  const edited = (edit: (lines: string[]) => string[]) =>
    gzipSync(edit(gunzipSync(good).toString('utf8').trimEnd().split('\n')).join('\n') + '\n');
  const flipped = () => {
    const bytes = Buffer.from(good);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    return bytes;
  };

  it.each([
    ['cut short', () => good.subarray(0, good.length - 200), /not gzip or damaged \(unexpected end of file\)/],
    // Where the flipped bit lands decides which check sees it first (gzip, JSON, a line's fields); the gzip
    // checksum at the end sees every one, before anything is written.
    ['damaged', flipped, /is not a usable backup: /],
    ['not gzip', () => Buffer.from('{"type":"header"}\n'), /not gzip or damaged \(incorrect header check\)/],
    [
      'of an unknown version',
      () => edited(([header, ...rest]) => [header!.replace('"version":1', '"version":2'), ...rest]),
      /it is format version 2, this release reads version 1/,
    ],
    [
      'of another format',
      () => gzipSync('{"format":"x","version":1}\n'),
      /does not start with a parley-jetstream-backup header/,
    ],
    ['without its end line', () => edited((lines) => lines.slice(0, -1)), /no end line \(cut short\)/],
    [
      'missing a message',
      () => edited((lines) => lines.filter((_, i) => i !== 3)),
      /PARLEY_HISTORY has 149 messages, its end line says 150/,
    ],
    [
      'with a bad message',
      () => edited((lines) => lines.map((line, i) => (i === 5 ? line.replace(/"data":"[^"]*"/, '"data":"%%"') : line))),
      /line 6: .*at data/,
    ],
    [
      "with a stream that is not Parley's",
      () => edited((lines) => lines.map((line) => line.replace('"name":"KV_parley_index"', '"name":"OTHER"'))),
      /OTHER is not a stream of Parley's/,
    ],
  ])('a file %s is refused, and nothing is created or written', async (what, bytes, message) => {
    const path = file(`bad-${what.replaceAll(/\W/g, '-')}.jsonl.gz`);
    writeFileSync(path, bytes());
    const restore = restoreJetStream(nc, path);
    await expect(restore).rejects.toBeInstanceOf(BackupError);
    await expect(restore).rejects.toThrow(message);
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names).toEqual([]);
  });

  it('a missing file is refused', async () => {
    await expect(restoreJetStream(nc, file('nothing-here.jsonl.gz'))).rejects.toThrow(
      /nothing-here.jsonl.gz does not exist/,
    );
  });
});

describe('backup and restore - the command', () => {
  let server: NatsServerHandle;
  let out: string[];
  let err: string[];
  const io = (env: Record<string, string>) => ({
    env,
    stdout: (line: string) => out.push(line),
    stderr: (line: string) => err.push(line),
  });

  beforeAll(async () => {
    const started = await pool.start();
    server = started.server;
    await writeConversations(await ensureJetStream(started.nc));
  });
  afterEach(() => {
    out = [];
    err = [];
  });
  out = [];
  err = [];

  it('backup --dir --keep writes timestamped files and keeps the newest', async () => {
    const backups = mkdtempSync(join(dir, 'dir-'));
    writeFileSync(join(backups, 'parley-20200101T000000.000Z.jsonl.gz.partial'), 'left by a killed run');
    writeFileSync(join(backups, 'notes.txt'), 'not a backup');
    for (let run = 0; run < 3; run++) {
      expect(await runBackupCli(['backup', '--dir', backups, '--keep', '2'], io({ NATS_URL: server.url }))).toBe(0);
    }
    expect(err).toEqual([]);
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(
      /^backup: 6 streams, 164 messages, \d+ bytes, \d+\.\d\d s -> .*parley-\d{8}T\d{6}\.\d{3}Z\.jsonl\.gz$/,
    );
    expect(out[2]).toMatch(/; removed 1 older$/);
    const written = out.slice(1).map((line) => line.split(' -> ')[1]!.split(';')[0]!);
    expect(readdirSync(backups).sort()).toEqual(['notes.txt', ...written.map((path) => basename(path))]);
  });

  it('usage errors exit 2 with the usage; failures exit 1 with one line and no secret', async () => {
    expect(await runBackupCli(['backup'], io({}))).toBe(2);
    expect(err.join('\n')).toMatch(/^backup needs one of --out and --dir\nusage: /);
    err = [];
    expect(await runBackupCli(['restore', '--out', 'x'], io({}))).toBe(2);
    expect(err.join('\n')).toMatch(/^restore takes no --out\nusage: /);
    err = [];

    expect(await runBackupCli(['backup', '--out', file('x.gz')], io({ NATS_URL: 'http://nats' }))).toBe(1);
    expect(err).toEqual([
      'backup failed: invalid configuration: NATS_URL: expected nats://host:port[,…] (got "http://nats")',
    ]);
    err = [];
    const refused = `nats://backup:hunter2secret@127.0.0.1:${server.port + 0}`;
    await server.stop({ keepStore: true });
    try {
      expect(await runBackupCli(['backup', '--out', file('x.gz')], io({ NATS_URL: refused }))).toBe(1);
    } finally {
      await server.restart();
    }
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^backup failed: cannot connect to NATS at 127\.0\.0\.1:\d+: /);
    expect(err[0]).not.toContain('hunter2secret');
    expect(out).toEqual([]);
  });
});
