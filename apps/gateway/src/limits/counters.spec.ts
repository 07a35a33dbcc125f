import { startRedisServer, type RedisServerHandle } from '@parley/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCounters, RedisCounters, type Check, type Counters } from './counters.js';

let server: RedisServerHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

let keys = 0;
const unique = (name: string) => `test:${name}:${String(++keys)}`;
const window = (key: string, limit: number, amount: number): Check => ({
  kind: 'window',
  key,
  limit,
  amount,
  resetAtMs: Date.now() + 60_000,
});
const lease = (key: string, limit: number, leaseId: string, ttlMs = 60_000): Check => ({
  kind: 'lease',
  key,
  limit,
  leaseId,
  ttlMs,
});

// The local fallback must behave like Redis: the same cases run against both.
describe.each([
  ['redis', () => new RedisCounters(redis) as Counters],
  ['local', () => new LocalCounters() as Counters],
])('%s counters', (_name, make) => {
  it('counters - a reservation takes from every counter or, refused by one, from none', async () => {
    const counters = make();
    const [a, b] = [unique('a'), unique('b')];
    expect(await counters.reserve([window(a, 10, 4), window(b, 5, 4)])).toEqual({ ok: true, remaining: [6, 1] });
    const refused = await counters.reserve([window(a, 10, 4), window(b, 5, 4)]);
    expect(refused).toMatchObject({ ok: false, index: 1 });
    // a was not taken from by the refused reservation: 6 are still left.
    expect(await counters.reserve([window(a, 10, 6)])).toEqual({ ok: true, remaining: [0] });
  });

  it('counters - settling gives back what a turn did not use', async () => {
    const counters = make();
    const key = unique('tokens');
    await counters.reserve([window(key, 100, 80)]);
    expect(await counters.reserve([window(key, 100, 30)])).toMatchObject({ ok: false });
    await counters.adjust([{ key, delta: -50 }]);
    expect(await counters.reserve([window(key, 100, 30)])).toEqual({ ok: true, remaining: [40] });
  });

  it('counters - leases cap concurrent holders, come back when released or expired, and renew', async () => {
    const counters = make();
    const key = unique('streams');
    expect(await counters.reserve([lease(key, 2, 'one')])).toEqual({ ok: true, remaining: [1] });
    expect(await counters.reserve([lease(key, 2, 'two', 150)])).toEqual({ ok: true, remaining: [0] });
    const full = await counters.reserve([lease(key, 2, 'three')]);
    expect(full).toMatchObject({ ok: false, index: 0 });
    await counters.release([{ key, leaseId: 'one' }]);
    expect(await counters.reserve([lease(key, 2, 'three')])).toMatchObject({ ok: true });
    // 'two' is not renewed: it expires, and its slot comes back.
    const start = Date.now();
    for (;;) {
      if ((await counters.reserve([lease(key, 2, 'four')])).ok) break;
      expect(Date.now() - start).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await counters.renew([{ key, leaseId: 'four', ttlMs: 60_000 }]);
    expect(await counters.reserve([lease(key, 2, 'five')])).toMatchObject({ ok: false });
  });
});

describe('redis counters', () => {
  it('counters - 50 concurrent reservations from two clients never pass the limit', async () => {
    const second = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const [one, two] = [new RedisCounters(redis), new RedisCounters(second)];
      const key = unique('race');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).reserve([window(key, 100, 7)])),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(14);
      expect(Number(await redis.get(key))).toBe(98);
    } finally {
      await second.quit();
    }
  });
});
