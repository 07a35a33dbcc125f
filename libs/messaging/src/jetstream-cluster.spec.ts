import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Buckets, ParleyError, Streams, newId } from '@parley/contracts';
import { startNatsCluster, type NatsClusterHandle } from '@parley/testing';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryStore } from './history.js';
import { userEntry } from './history.test-kit.js';
import { ensureJetStream } from './jetstream.js';

let cluster: NatsClusterHandle;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  nc = await connect({ servers: cluster.urls });
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

const STREAMS = [Streams.history.name, Streams.frames.name, ...Object.values(Buckets).map((b) => `KV_${b}`)];

describe('JetStream on a three-node cluster', () => {
  it('jetstream - PARLEY_JETSTREAM_REPLICAS=3 replicates every stream and bucket, also ones created with 1', async () => {
    await ensureJetStream(nc, { replicas: 1 }); // an earlier single-copy deployment
    const { jsm } = await ensureJetStream(nc, { replicas: 3 });
    for (const name of STREAMS) {
      const info = await jsm.streams.info(name);
      expect({ name, replicas: info.config.num_replicas }).toEqual({ name, replicas: 3 });
    }
  });

  it('jetstream - history written before a node fails is still read and appended after', async () => {
    const { js, jsm } = await ensureJetStream(nc, { replicas: 3 });
    const history = new HistoryStore(js, jsm);
    const conversation = newId('conversation');
    expect(await history.append(conversation, userEntry('before'), 't1.user')).toBe(true);
    await cluster.stopNode(0);
    expect(await history.append(conversation, userEntry('after'), 't2.user')).toBe(true);
    // A read creates a consumer, which needs the cluster's meta leader and a live peer: until the cluster has
    // re-elected and marked the lost server offline (seconds, longer on a busy machine) reads fail with a
    // retryable error, which a client retries after Retry-After like this.
    const listed = await retryWhileUnavailable(() => history.list(conversation), 40_000);
    expect(listed.map((m) => m.content)).toEqual(['before', 'after']);
  }, 60_000); // leader elections, and one 2 s publish timeout when the write raced the client's disconnect
});

async function retryWhileUnavailable<T>(read: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      const retryable = error instanceof ParleyError && error.code === 'service_unavailable';
      if (!retryable || Date.now() > deadline) throw error;
      await delay(((error as ParleyError).retryAfterSeconds ?? 1) * 1000);
    }
  }
}
