// The turn protocol's primitives against a real nats-server: the writer's numbering and single terminal item,
// stored and live; opening a stream; cancelling; errors that keep their Retry-After across NATS.
import { errors, headers, type Msg } from '@nats-io/transport-node';
import {
  Endpoints,
  Headers,
  ParleyError,
  TurnCancel,
  TurnStreams,
  newId,
  type CancelReason,
  type GenerateRequest,
} from '@parley/contracts';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTurn, onCancel } from './cancel.js';
import { decode, encode } from './codec.js';
import { connectNats, type NatsHandle } from './connection.js';
import { replayFrames } from './frame-replay.js';
import { ensureJetStream, type JetStreamHandles } from './jetstream.js';
import { capturedLog } from './log.test-kit.js';
import { openStream } from './open-stream.js';
import { call } from './request.js';
import { SequenceReader, subscriptionSource, type ReadTimeouts } from './sequence-reader.js';
import { StreamWriter } from './stream-writer.js';

let server: NatsServerHandle;
let nats: NatsHandle;
let jetstream: JetStreamHandles;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'test', log: capturedLog().log });
  jetstream = await ensureJetStream(nats.nc);
});
afterAll(async () => {
  await nats?.drain();
  await server?.stop();
});

const timeouts = (ms = 2_000): ReadTimeouts => ({
  firstItemMs: ms,
  idleMs: ms,
  totalMs: 10_000,
  codes: { first: 'first_token_timeout', idle: 'inter_token_timeout', total: 'turn_timeout' },
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const read: T[] = [];
  for await (const item of items) read.push(item);
  return read;
}

/** The next message on `subject`, decoded as a cancel. */
function nextCancel(turnId: string): Promise<CancelReason> {
  return new Promise((resolve) => {
    const subscription = nats.nc.subscribe(TurnCancel.subject(turnId), {
      max: 1,
      callback: (_error, msg) => resolve(decode(TurnCancel.message, msg.data, 'cancel').reason),
    });
    void subscription;
  });
}

const generateRequest = (turnId: string): GenerateRequest => ({
  turnId,
  model: 'm',
  params: {},
  limits: { firstTokenTimeoutMs: 1_000, interTokenTimeoutMs: 1_000, turnTimeoutMs: 5_000 },
  messages: [{ role: 'user', content: 'hi' }],
});

/** Plays inference on the generate subject: `respond` answers each request. */
function serveGenerate(respond: (msg: Msg, request: GenerateRequest) => void) {
  return nats.nc.subscribe(Endpoints.inferenceGenerate.subject, {
    callback: (_error, msg) => respond(msg, decode(Endpoints.inferenceGenerate.request, msg.data, 'generate')),
  });
}

describe('stream writer', () => {
  it('stream writer - numbers items from 1 and publishes nothing after the terminal item', async () => {
    const turnId = newId('turn');
    const published: unknown[] = [];
    const everything = nats.nc.subscribe(TurnStreams.chunks.subject(turnId), {
      callback: (_error, msg) => void published.push(JSON.parse(new TextDecoder().decode(msg.data))),
    });
    const writer = new StreamWriter(nats, { stream: TurnStreams.chunks, turnId });
    void writer.write({ type: 'delta', text: 'a' });
    void writer.write({ type: 'delta', text: 'b' });
    void writer.write({ type: 'end', finishReason: 'stop' });
    void writer.write({ type: 'error', error: new ParleyError('upstream_error', 'late').toInfo() });
    void writer.finish(() => ({ type: 'end', finishReason: 'cancelled' }));
    expect(writer.ended).toBe(true);
    expect(writer.written).toBe(3);
    nats.publisher.flush();
    await nats.nc.flush();
    everything.unsubscribe();
    expect(published).toEqual([
      { type: 'delta', text: 'a', seq: 1 },
      { type: 'delta', text: 'b', seq: 2 },
      { type: 'end', finishReason: 'stop', seq: 3 },
    ]);
  });

  it('stream writer - finish ends an unfinished stream with its fallback, once', async () => {
    const turnId = newId('turn');
    const reader = new SequenceReader(subscriptionSource(nats.nc, TurnStreams.chunks.subject(turnId)), {
      stream: TurnStreams.chunks,
      timeouts: timeouts(),
    });
    const writer = new StreamWriter(nats, { stream: TurnStreams.chunks, turnId });
    void writer.write({ type: 'delta', text: 'a' });
    await writer.finish(() => ({ type: 'end', finishReason: 'cancelled' }));
    await writer.finish(() => ({ type: 'error', error: new ParleyError('shutting_down', 'again').toInfo() }));
    expect(await all(reader)).toEqual([
      { type: 'delta', seq: 1, text: 'a' },
      { type: 'end', seq: 2, finishReason: 'cancelled' },
    ]);
  });

  it('stream writer - a stored stream is kept in order in JetStream and can be read back from any frame', async () => {
    const turnId = newId('turn');
    const writer = new StreamWriter(nats, { stream: TurnStreams.frames, turnId, js: jetstream.js });
    // Not awaited one by one: the writer stores them in order all the same.
    await Promise.all([
      writer.write({ type: 'delta', text: 'a' }),
      writer.write({ type: 'delta', text: 'b' }),
      writer.write({ type: 'done', finishReason: 'stop', model: 'm' }),
    ]);
    const frames = await all(replayFrames(jetstream.js, { turnId, afterSeq: 1, timeouts: timeouts() }));
    expect(frames.map((f) => [f.seq, f.type])).toEqual([
      [2, 'delta'],
      [3, 'done'],
    ]);
    expect(() => new StreamWriter(nats, { stream: TurnStreams.frames, turnId })).toThrow(/needs JetStream/);
  });
});

describe('open stream', () => {
  it('open stream - an item published before the acceptance is not missed', async () => {
    const subscription = serveGenerate((msg, request) => {
      const chunks = new StreamWriter(nats, { stream: TurnStreams.chunks, turnId: request.turnId });
      void chunks.write({ type: 'delta', text: 'early' });
      void chunks.write({ type: 'end', finishReason: 'stop' });
      nats.publisher.flush();
      msg.respond(encode({ turnId: request.turnId, upstreamModel: 'up' }));
    });
    try {
      const turnId = newId('turn');
      const opened = await openStream(nats, Endpoints.inferenceGenerate, generateRequest(turnId), {
        timeouts: timeouts(),
        requestTimeoutMs: 1_000,
      });
      expect(opened.accepted).toEqual({ turnId, upstreamModel: 'up' });
      expect((await all(opened.items)).map((c) => c.type)).toEqual(['delta', 'end']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('open stream - a refusal throws its error and leaves no subscription behind', async () => {
    const subscription = serveGenerate((msg) => {
      const h = headers();
      h.set(Headers.errorCode, 'rate_limited');
      msg.respond(encode(new ParleyError('rate_limited', 'busy', { retryAfterSeconds: 7 }).toInfo()), {
        headers: h,
      });
    });
    try {
      const turnId = newId('turn');
      const refused = await openStream(nats, Endpoints.inferenceGenerate, generateRequest(turnId), {
        timeouts: timeouts(),
        requestTimeoutMs: 1_000,
      }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ParleyError);
      expect(refused).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 7 });
      // Nobody listens on the turn's chunk subject any more.
      const probe = await nats.nc
        .request(TurnStreams.chunks.subject(turnId), encode({}), { timeout: 1_000 })
        .catch((error: unknown) => error);
      expect(probe instanceof errors.RequestError && probe.isNoResponders()).toBe(true);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('open stream - silence from the other side ends the read with its code and cancels the turn', async () => {
    const subscription = serveGenerate((msg, request) =>
      msg.respond(encode({ turnId: request.turnId, upstreamModel: 'up' })),
    );
    try {
      const turnId = newId('turn');
      const cancelled = nextCancel(turnId);
      const opened = await openStream(nats, Endpoints.inferenceGenerate, generateRequest(turnId), {
        timeouts: timeouts(200),
        requestTimeoutMs: 1_000,
      });
      await expect(all(opened.items)).rejects.toMatchObject({ code: 'first_token_timeout' });
      expect(await cancelled).toBe('timeout');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('open stream - cancel stops reading and sends one cancel with its reason', async () => {
    const subscription = serveGenerate((msg, request) =>
      msg.respond(encode({ turnId: request.turnId, upstreamModel: 'up' })),
    );
    const turnId = newId('turn');
    const reasons: CancelReason[] = [];
    const listening = onCancel(nats.nc, turnId, capturedLog().log, (reason) => reasons.push(reason));
    try {
      const opened = await openStream(nats, Endpoints.inferenceGenerate, generateRequest(turnId), {
        timeouts: timeouts(),
        requestTimeoutMs: 1_000,
      });
      const reading = all(opened.items);
      opened.cancel('client_closed');
      opened.cancel('user');
      expect(await reading).toEqual([]);
      await nats.nc.flush();
      expect(reasons).toEqual(['client_closed']);
    } finally {
      listening.unsubscribe();
      subscription.unsubscribe();
    }
  });
});

describe('cancel', () => {
  it('cancel - a cancel reaches every listener of the turn; an invalid one is logged and ignored', async () => {
    const turnId = newId('turn');
    const { log, lines } = capturedLog();
    const heard: string[] = [];
    const a = onCancel(nats.nc, turnId, log, (reason) => heard.push(`a:${reason}`));
    const b = onCancel(nats.nc, turnId, log, (reason) => heard.push(`b:${reason}`));
    try {
      nats.nc.publish(TurnCancel.subject(turnId), encode({ reason: 'whatever' }));
      cancelTurn(nats.nc, turnId, 'user');
      await nats.nc.flush();
      // Two subscriptions of one connection: the order between them is not defined.
      expect(heard.sort()).toEqual(['a:user', 'b:user']);
      expect(lines.filter((line) => line.msg === 'ignored an invalid cancel')).toHaveLength(2);
    } finally {
      a.unsubscribe();
      b.unsubscribe();
    }
  });

  it('call - an error reply keeps its Retry-After and field across NATS', async () => {
    const subscription = nats.nc.subscribe(Endpoints.inferenceModels.subject, {
      callback: (_error, msg) => {
        const h = headers();
        h.set(Headers.errorCode, 'model_not_found');
        const info = new ParleyError('model_not_found', 'no such model', { param: 'model', retryAfterSeconds: 3 });
        msg.respond(encode(info.toInfo()), { headers: h });
      },
    });
    try {
      await expect(call(nats.nc, Endpoints.inferenceModels, {}, { timeoutMs: 1_000 })).rejects.toMatchObject({
        code: 'model_not_found',
        param: 'model',
        retryAfterSeconds: 3,
      });
    } finally {
      subscription.unsubscribe();
    }
  });
});
