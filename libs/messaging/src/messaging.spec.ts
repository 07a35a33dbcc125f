import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Headers, ParleyError, Streams, TurnStreams, historySubject, newId, type Endpoint } from '@parley/contracts';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { headers } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { capturedLog } from './log.test-kit.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decode, encode } from './codec.js';
import { HistoryStore } from './history.js';
import { userEntry } from './history.test-kit.js';
import { ensureJetStream, historyAgeLimitMs, purgeSubject } from './jetstream.js';
import { nanos } from '@nats-io/transport-node';
import { call } from './request.js';
import { SequenceReader, subscriptionSource } from './sequence-reader.js';
import { z } from 'zod';

let server: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function reader(subject: string, overrides: Partial<{ first: number; idle: number; total: number }> = {}) {
  return new SequenceReader(subscriptionSource(nc, subject), {
    stream: TurnStreams.chunks,
    timeouts: {
      firstItemMs: overrides.first ?? 2_000,
      idleMs: overrides.idle ?? 2_000,
      totalMs: overrides.total ?? 10_000,
      codes: { first: 'first_token_timeout', idle: 'inter_token_timeout', total: 'turn_timeout' },
    },
  });
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('codec', () => {
  it('codec - decode validates against the schema and reports the field', () => {
    const schema = z.object({ n: z.number() });
    expect(decode(schema, encode({ n: 1 }), 'thing')).toEqual({ n: 1 });
    expect(() => decode(schema, encode({ n: 'x' }), 'thing')).toThrow(/thing: .* at n/);
    expect(() => decode(schema, new TextEncoder().encode('{'), 'thing')).toThrow(ParleyError);
  });
});

describe('sequence reader', () => {
  it('sequence reader - yields items in order and stops after the terminal one', async () => {
    const subject = `test.seq.${newId('turn')}`;
    const r = reader(subject);
    nc.publish(subject, encode({ type: 'delta', seq: 1, text: 'a' }));
    nc.publish(subject, encode({ type: 'delta', seq: 2, text: 'b' }));
    nc.publish(subject, encode({ type: 'end', seq: 3, finishReason: 'stop' }));
    nc.publish(subject, encode({ type: 'delta', seq: 4, text: 'late' }));
    const items = await drain(r);
    expect(items.map((i) => i.seq)).toEqual([1, 2, 3]);
  });

  it('sequence reader - a gap is stream_interrupted (retryable), never a silent skip', async () => {
    const subject = `test.seq.${newId('turn')}`;
    const r = reader(subject);
    nc.publish(subject, encode({ type: 'delta', seq: 1, text: 'a' }));
    nc.publish(subject, encode({ type: 'delta', seq: 3, text: 'c' }));
    await expect(drain(r)).rejects.toMatchObject({ code: 'stream_interrupted', retryable: true });
  });

  it('sequence reader - silence before the first item and between items time out with their codes', async () => {
    await expect(drain(reader(`test.seq.${newId('turn')}`, { first: 100 }))).rejects.toMatchObject({
      code: 'first_token_timeout',
    });
    const subject = `test.seq.${newId('turn')}`;
    const r = reader(subject, { idle: 100 });
    nc.publish(subject, encode({ type: 'delta', seq: 1, text: 'a' }));
    await expect(drain(r)).rejects.toMatchObject({ code: 'inter_token_timeout' });
  });

  it('sequence reader - the total timeout bounds a stream that keeps trickling', async () => {
    const subject = `test.seq.${newId('turn')}`;
    const r = reader(subject, { idle: 1_000, total: 300 });
    let seq = 0;
    const timer = setInterval(() => nc.publish(subject, encode({ type: 'delta', seq: ++seq, text: '.' })), 20);
    try {
      await expect(drain(r)).rejects.toMatchObject({ code: 'turn_timeout' });
    } finally {
      clearInterval(timer);
    }
  });

  it('sequence reader - an invalid item fails the read', async () => {
    const subject = `test.seq.${newId('turn')}`;
    const r = reader(subject);
    nc.publish(subject, encode({ type: 'delta', seq: 'one' }));
    await expect(drain(r)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('sequence reader - close ends a pending read quietly', async () => {
    const r = reader(`test.seq.${newId('turn')}`);
    const pending = drain(r);
    r.close();
    expect(await pending).toEqual([]);
  });
});

describe('call', () => {
  const Reply = z.object({ ok: z.boolean() });
  const endpoint = (subject: string, unavailable: Endpoint['unavailable']): Endpoint<z.ZodObject, typeof Reply> => ({
    subject,
    request: z.object({}),
    reply: Reply,
    service: unavailable === 'no_responder' ? 'responder' : 'inference',
    unavailable,
    traced: false,
  });

  it('call - no responders is an immediate retryable error with the given code', async () => {
    const started = performance.now();
    const error = await call(nc, endpoint('test.nobody.home', 'no_responder'), {}, { timeoutMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ code: 'no_responder', status: 503, retryAfterSeconds: 1 });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('call - a responder that never answers times out as unavailable', async () => {
    const sub = nc.subscribe('test.silent', { callback: () => undefined });
    try {
      await expect(call(nc, endpoint('test.silent', 'no_inference'), {}, { timeoutMs: 150 })).rejects.toMatchObject({
        code: 'no_inference',
      });
    } finally {
      sub.unsubscribe();
    }
  });

  it('call - an error reply comes back as a ParleyError with its code', async () => {
    const sub = nc.subscribe('test.failing', {
      callback: (_e, msg) => {
        const h = headers();
        h.set(Headers.errorCode, 'model_not_found');
        msg.respond(encode({ code: 'model_not_found', message: 'no such model', retryable: false }), { headers: h });
      },
    });
    try {
      await expect(call(nc, endpoint('test.failing', 'no_inference'), {}, { timeoutMs: 1_000 })).rejects.toMatchObject({
        code: 'model_not_found',
        message: 'no such model',
        status: 404,
      });
    } finally {
      sub.unsubscribe();
    }
  });

  it('call - a malformed reply is rejected, not trusted', async () => {
    const sub = nc.subscribe('test.garbled', { callback: (_e, msg) => void msg.respond(encode({ ok: 'yes' })) });
    try {
      await expect(call(nc, endpoint('test.garbled', 'no_inference'), {}, { timeoutMs: 1_000 })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    } finally {
      sub.unsubscribe();
    }
  });
});

describe('history', () => {
  it("history - the stream's age limit follows retention, set by the service that knows it", async () => {
    const DAY = 24 * 60 * 60_000;
    expect(historyAgeLimitMs(undefined, 60_000)).toBe(0);
    expect(historyAgeLimitMs(30, 60 * 60_000)).toBe(31 * DAY);
    expect(historyAgeLimitMs(0.5, 2 * DAY)).toBe(2.5 * DAY);
    const maxAge = async () => (await (await jetstreamManager(nc)).streams.info(Streams.history.name)).config.max_age;
    await ensureJetStream(nc, { historyMaxAgeMs: 31 * DAY }); // the responder, with PARLEY_RETENTION_DAYS=30
    expect(await maxAge()).toBe(nanos(31 * DAY));
    await ensureJetStream(nc); // the gateway: leaves it as it is
    expect(await maxAge()).toBe(nanos(31 * DAY));
    await ensureJetStream(nc, { historyMaxAgeMs: 0 }); // the responder, retention unset
    expect(await maxAge()).toBe(0);
  });

  it('history - appends are ordered, idempotent on their id, and per conversation', async () => {
    const { js, jsm } = await ensureJetStream(nc);
    await ensureJetStream(nc); // a second start with the same configuration is fine
    const history = new HistoryStore(js, jsm);
    const a = newId('conversation');
    const b = newId('conversation');
    const first = userEntry('one');
    expect(await history.append(a, first, 't1.user')).toBe(true);
    expect(await history.append(a, first, 't1.user')).toBe(false);
    await history.append(b, userEntry('other'), 't2.user');
    await history.append(a, userEntry('two'), 't3.user');
    expect((await history.list(a)).map((m) => m.content)).toEqual(['one', 'two']);
    expect((await history.list(b)).map((m) => m.content)).toEqual(['other']);
    expect(await history.list(newId('conversation'))).toEqual([]);
  });

  it('history - a read conversation is served from memory only while the stream says nothing changed', async () => {
    const { js, jsm } = await ensureJetStream(nc);
    const mine = new HistoryStore(js, jsm);
    const otherReplica = new HistoryStore(js, jsm);
    const id = newId('conversation');
    // Consumers created for history reads, seen on the wire: a read from memory creates none.
    let created = 0;
    const creates = nc.subscribe(`$JS.API.CONSUMER.CREATE.${Streams.history.name}.>`, {
      // Runs as the message is parsed, before a later flush's PONG.
      callback: () => {
        created += 1;
      },
    });
    const contents = async (store: HistoryStore) => (await store.list(id)).map((m) => m.content);
    const createsDuring = async <T>(read: () => Promise<T>): Promise<[T, number]> => {
      await nc.flush();
      const before = created;
      const result = await read();
      await nc.flush();
      return [result, created - before];
    };

    expect(await createsDuring(() => contents(mine))).toEqual([[], 0]); // a new conversation
    await mine.append(id, userEntry('one'), 'c1');
    expect(await createsDuring(() => contents(mine))).toEqual([['one'], 0]); // built on the empty read
    await mine.append(id, userEntry('two'), 'c2'); // its own append keeps the copy current
    expect(await createsDuring(() => contents(mine))).toEqual([['one', 'two'], 0]);
    await otherReplica.append(id, userEntry('three'), 'c3'); // another replica appends: read again
    expect(await createsDuring(() => contents(mine))).toEqual([['one', 'two', 'three'], 1]);
    expect(await createsDuring(() => contents(mine))).toEqual([['one', 'two', 'three'], 0]);
    await mine.append(id, userEntry('one'), 'c1'); // a duplicate append changes nothing and drops the copy
    expect(await createsDuring(() => contents(mine))).toEqual([['one', 'two', 'three'], 1]);
    await purgeSubject(jsm, Streams.history.name, historySubject(id)); // erased elsewhere
    expect(await createsDuring(() => contents(mine))).toEqual([[], 0]);
    await otherReplica.append(id, userEntry('new'), 'c4');
    expect(await contents(mine)).toEqual(['new']);
    creates.unsubscribe();
  });
});

describe('jetstream set-up', () => {
  /** Runs `body` against a new server, where nothing is created yet, with `count` connections to it. */
  async function onNewServer(
    body: (server: NatsServerHandle, connections: NatsConnection[]) => Promise<void>,
    count = 1,
  ): Promise<void> {
    const fresh = await startNatsServer();
    const connections = await Promise.all(Array.from({ length: count }, () => connect({ servers: fresh.url })));
    try {
      await body(fresh, connections);
    } finally {
      fresh.resume();
      await Promise.all(connections.map((c) => c.close()));
      await fresh.stop();
    }
  }

  it('jetstream - services starting at the same moment on a new server all get the streams and buckets', async () => {
    // Each round is a new server, so every service finds nothing and creates at once, as a fresh deployment does.
    for (let round = 0; round < 6; round++) {
      await onNewServer(async (_, connections) => {
        const results = await Promise.allSettled(connections.map((c) => ensureJetStream(c)));
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual([
          'ok',
          'ok',
          'ok',
          'ok',
        ]);
        const streams = [];
        for await (const info of (await jetstreamManager(connections[0]!)).streams.list()) {
          streams.push(info.config.name);
        }
        expect(streams).toEqual(expect.arrayContaining([Streams.history.name, Streams.frames.name]));
      }, 4);
    }
  });

  it('jetstream - a server too busy to answer in time is tried again until it answers', async () => {
    await onNewServer(async (server, [connection]) => {
      const { log, lines } = capturedLog();
      server.pause();
      const setUp = ensureJetStream(connection!, { apiTimeoutMs: 300, log });
      // Thawed once the first attempt has timed out and been logged.
      await vi.waitFor(() => expect(lines).toHaveLength(1), { timeout: 2_000, interval: 20 });
      server.resume();
      const { jsm } = await setUp;
      expect((await jsm.streams.info(Streams.history.name)).config.name).toBe(Streams.history.name);
      expect(lines).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: 'JetStream set-up failed; retrying',
          retryInMs: expect.any(Number),
        }),
      ]);
    });
  });

  it('jetstream - a server that stays too busy fails the set-up after three more attempts, not forever', async () => {
    await onNewServer(async (server, [connection]) => {
      const { log, lines } = capturedLog();
      server.pause();
      await expect(ensureJetStream(connection!, { apiTimeoutMs: 200, log })).rejects.toThrow(/timeout/i);
      expect(lines.map((line) => line.msg)).toEqual(Array(3).fill('JetStream set-up failed; retrying'));
    });
  });

  it("jetstream - a stream that cannot be created fails the start with the server's reason", async () => {
    await onNewServer(async (_, [connection]) => {
      // Another stream already holds the history's subjects.
      const jsm = await jetstreamManager(connection!);
      await jsm.streams.add({ name: 'SOMEONE_ELSE', subjects: [...Streams.history.subjects] });
      await expect(ensureJetStream(connection!)).rejects.toThrow(/overlap/);
    });
  });
});
