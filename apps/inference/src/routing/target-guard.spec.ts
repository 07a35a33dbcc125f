// TargetGuard's slots, queue deadline and Retry-After, on a clock the test moves, and its log lines for failed
// attempts and breaker transitions.
import { Writable } from 'node:stream';
import { ParleyError } from '@parley/contracts';
import { createLogger } from '@parley/tracing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD, TargetGuard, type GuardOptions } from './target-guard.js';

const NEVER = new AbortController().signal;

/** A guard whose clock is `clock.ms`, and the JSON lines it logs. */
function guard(options: Partial<GuardOptions> = {}) {
  const clock = { ms: 0 };
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ service: 'inference-test', destination });
  const target = new TargetGuard('a', { ...DEFAULT_GUARD, ...options }, { now: () => clock.ms, log });
  return { target, clock, lines };
}

/** A stream that held its slot for `ms` of the guard's clock, so the guard knows a typical stream's time. */
async function finishedStream(g: ReturnType<typeof guard>, ms: number): Promise<void> {
  const release = await g.target.acquire(NEVER);
  g.clock.ms += ms;
  release();
}

describe('target guard', () => {
  it('target guard - a queued stream is refused at its deadline with rate_limited and the time a slot should free', async () => {
    const g = guard({ maxConcurrency: 1, maxQueue: 4 });
    await finishedStream(g, 10_000);
    await g.target.acquire(NEVER);
    g.clock.ms += 4_000; // the stream in flight has 6 s to go, typically
    const started = performance.now();
    const refused = g.target.acquire(NEVER, { queueWaitMs: 50 });
    expect(g.target.state()).toMatchObject({ inFlight: 1, queued: 1 });
    await expect(refused).rejects.toEqual(
      expect.objectContaining({ code: 'rate_limited', retryAfterSeconds: 6 } satisfies Partial<ParleyError>),
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(g.target.state()).toMatchObject({ inFlight: 1, queued: 0 });
  });

  it('target guard - a full queue is refused at once, its Retry-After counting a typical stream per round ahead', async () => {
    const g = guard({ maxConcurrency: 2, maxQueue: 2 });
    await finishedStream(g, 10_000);
    await Promise.all([g.target.acquire(NEVER), g.target.acquire(NEVER)]);
    g.clock.ms += 4_000;
    const waiters = [g.target.acquire(NEVER), g.target.acquire(NEVER)];
    // 6 s to the soonest free slot, then two waiters ahead over two slots: one typical stream more.
    await expect(g.target.acquire(NEVER)).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 16 });
    expect(waiters).toHaveLength(2);
  });

  it('target guard - before any stream has finished, one in flight is expected to run as long again', async () => {
    const g = guard({ maxConcurrency: 1, maxQueue: 1 });
    await g.target.acquire(NEVER);
    g.clock.ms += 3_000;
    await expect(g.target.acquire(NEVER, { queueWaitMs: 10 })).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 3,
    });
  });

  it('target guard - a slot freed after a waiter gave up goes to the next one still waiting', async () => {
    const g = guard({ maxConcurrency: 1, maxQueue: 2 });
    const release = await g.target.acquire(NEVER);
    const cancelled = new AbortController();
    const gaveUp = g.target.acquire(cancelled.signal);
    const waiting = g.target.acquire(NEVER, { queueWaitMs: 5_000 });
    cancelled.abort();
    await expect(gaveUp).rejects.toMatchObject({ name: 'AbortError' });
    expect(g.target.state().queued).toBe(1);
    release();
    const next = await waiting;
    expect(g.target.state()).toMatchObject({ inFlight: 1, queued: 0 });
    next();
    expect(g.target.state()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('target guard - logs each failed attempt with its code, and each breaker transition', async () => {
    const g = guard({ retries: 1, breakerMinimumCalls: 2, breakerWindow: 2, retryInitialDelayMs: 1 });
    const failing = () => Promise.reject(new ParleyError('upstream_error', 'upstream failed (HTTP 503)'));
    await expect(g.target.open(failing, NEVER)).rejects.toMatchObject({ code: 'upstream_error' });
    const attempts = g.lines.filter((line) => line.msg === 'upstream attempt failed');
    expect(attempts).toEqual([
      expect.objectContaining({ target: 'a', attempt: 1, code: 'upstream_error', level: 'warn' }),
      expect.objectContaining({ target: 'a', attempt: 2, code: 'upstream_error', level: 'warn' }),
    ]);
    expect(g.lines.filter((line) => line.msg === 'circuit breaker state changed')).toEqual([
      expect.objectContaining({ target: 'a', breaker: 'open', code: 'breaker_open', level: 'warn' }),
    ]);
    expect(g.target.state().breaker).toBe('open');
  });
});
