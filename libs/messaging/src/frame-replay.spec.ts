import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TurnStreams, newId } from '@parley/contracts';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from './codec.js';
import { replayFrames } from './frame-replay.js';
import { ensureJetStream, type JetStreamHandles } from './jetstream.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let jetstream: JetStreamHandles;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jetstream = await ensureJetStream(nc);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const options = (turnId: string, afterSeq: number) => ({
  turnId,
  afterSeq,
  timeouts: {
    firstItemMs: 1_000,
    idleMs: 300,
    totalMs: 5_000,
    codes: { first: 'responder_lost', idle: 'responder_lost', total: 'turn_timeout' } as const,
  },
});
const turnFramesSubject = TurnStreams.frames.subject;

describe('frame replay', () => {
  it('frame replay - stored frames after the given sequence, then live ones, until the terminal frame', async () => {
    const turnId = newId('turn');
    const subject = turnFramesSubject(turnId);
    await jetstream.js.publish(subject, encode({ type: 'delta', seq: 1, text: 'a' }));
    await jetstream.js.publish(subject, encode({ type: 'delta', seq: 2, text: 'b' }));
    setTimeout(() => {
      void jetstream.js.publish(subject, encode({ type: 'done', seq: 3, finishReason: 'stop', model: 'm' }));
    }, 100);
    const seqs: number[] = [];
    for await (const frame of replayFrames(jetstream.js, options(turnId, 1))) seqs.push(frame.seq);
    expect(seqs).toEqual([2, 3]);
  });

  it('frame replay - silence ends with the given code', async () => {
    const turnId = newId('turn');
    await jetstream.js.publish(turnFramesSubject(turnId), encode({ type: 'delta', seq: 1, text: 'a' }));
    const read = async () => {
      for await (const _ of replayFrames(jetstream.js, options(turnId, 0))) void _;
    };
    await expect(read()).rejects.toMatchObject({ code: 'responder_lost' });
  });
});
