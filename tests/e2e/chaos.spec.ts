// Faults of the infrastructure under load, against the built services over real NATS, Redis and HTTP: NATS
// killed or frozen with streams open, an inference replica killed with another one running. Every stream must
// end with exactly one terminal event in bounded time, and the services must come back by themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, Stack, eventually, readSse } from './stack.js';

const INTER_TOKEN_TIMEOUT_MS = 3_000;
/** Long enough that every stream is still open when the fault strikes (50 ms × 200 tokens = 10 s). */
const SLOW_STREAM = { interTokenMs: 50, tokens: 200 };
const QUICK_STREAM = { interTokenMs: 2, tokens: 12 };
/** How a stream cut by a NATS crash may end: a lost frame, or the silence of the hop behind. */
const NATS_LOSS_CODES = ['stream_interrupted', 'responder_lost', 'inter_token_timeout'];

let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    env: {
      PARLEY_INTER_TOKEN_TIMEOUT_MS: String(INTER_TOKEN_TIMEOUT_MS),
      PARLEY_FIRST_TOKEN_TIMEOUT_MS: '5000',
      PARLEY_TURN_TIMEOUT_MS: '20000',
    },
  });
});
afterAll(() => stack?.stop());

/** How a stream ended: its terminal events (done or error) and when the last one came. */
interface Ending {
  terminals: { kind: 'done' | 'error'; code?: string; retryable?: boolean }[];
  endedAt: number;
}

/** A conversation message's stream; `firstDelta` resolves with its first token, `ended` once it is over. */
async function conversationStream() {
  const created = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
  const { id } = (await created.json()) as { id: string };
  const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
    method: 'POST',
    json: { content: 'tell me a long story' },
    signal: AbortSignal.timeout(30_000),
  });
  expect(res.status).toBe(200);
  const { promise: firstDelta, resolve: first } = Promise.withResolvers<void>();
  const ended = (async (): Promise<Ending> => {
    const terminals: Ending['terminals'] = [];
    for await (const event of readSse(res)) {
      if (event.event === 'delta') first();
      if (event.event === 'done') terminals.push({ kind: 'done' });
      if (event.event === 'error') {
        const { error } = JSON.parse(event.data) as { error: { code: string; retryable: boolean } };
        terminals.push({ kind: 'error', code: error.code, retryable: error.retryable });
      }
    }
    return { terminals, endedAt: performance.now() };
  })();
  return { firstDelta, ended };
}

/** A streamed `/v1/chat/completions`, read as raw SSE: `[DONE]` or an error line is its terminal event. */
async function completionStream() {
  const res = await stack.fetch('/v1/chat/completions', {
    method: 'POST',
    json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] },
    signal: AbortSignal.timeout(30_000),
  });
  expect(res.status).toBe(200);
  const { promise: firstDelta, resolve: first } = Promise.withResolvers<void>();
  const ended = (async (): Promise<Ending> => {
    const terminals: Ending['terminals'] = [];
    for await (const event of readSse(res)) {
      if (event.data === '[DONE]') {
        terminals.push({ kind: 'done' });
        continue;
      }
      const data = JSON.parse(event.data) as { choices?: unknown[]; error?: { code: string } };
      if (data.error) terminals.push({ kind: 'error', code: data.error.code, retryable: true });
      else first();
    }
    return { terminals, endedAt: performance.now() };
  })();
  return { firstDelta, ended };
}

/** Rejects with `what` when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once the gateway is ready and sees a responder and an inference replica. */
function allReady(timeoutMs: number): Promise<true> {
  return eventually(
    'readyz to report every service back',
    async () => {
      const res = await stack
        .fetch('/readyz', { key: null, signal: AbortSignal.timeout(2_000) })
        .catch(() => undefined);
      if (!res || res.status !== 200) return undefined;
      const { checks } = (await res.json()) as { checks: Record<string, boolean> };
      return Object.values(checks).every(Boolean) ? true : undefined;
    },
    timeoutMs,
  );
}

async function completes(): Promise<void> {
  const completion = await stack.openai().chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'still there?' }],
  });
  expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
}

describe('chaos', () => {
  it('chaos - NATS SIGKILLed with 50 streams open: each ends once within 15 s; all ready within 5 s of its return', async () => {
    await stack.configureSim(SLOW_STREAM);
    try {
      const streams = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? conversationStream() : completionStream())),
      );
      await within(Promise.all(streams.map((s) => s.firstDelta)), 10_000, 'the first token of every stream');
      const killedAt = performance.now();
      await stack.nats.kill();
      await stack.nats.restart();
      const restartedAt = performance.now();
      await allReady(5_000);
      const endings = await within(Promise.all(streams.map((s) => s.ended)), 15_000, 'every stream to end');
      for (const { terminals, endedAt } of endings) {
        expect(terminals).toHaveLength(1);
        // A frame lost with the broker is said as such (or the silence after it), never a bare internal_error.
        if (terminals[0]!.kind === 'error') {
          expect(terminals[0]).toMatchObject({ retryable: true });
          expect(NATS_LOSS_CODES).toContain(terminals[0]!.code);
        }
        expect(endedAt - killedAt).toBeLessThan(15_000);
      }
      expect(performance.now() - restartedAt).toBeLessThan(15_000);
    } finally {
      await stack.configureSim(QUICK_STREAM);
    }
    await completes();
  });

  it('chaos - NATS frozen (SIGSTOP): requests get 503 with Retry-After within 2 s, readiness is false, then it recovers', async () => {
    stack.nats.pause();
    try {
      const started = performance.now();
      const res = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({ error: { code: 'service_unavailable' } });
      const ready = await stack.fetch('/readyz', { key: null });
      expect(ready.status).toBe(503);
      // Each service notices on its own pings, within 1.5 s of the freeze.
      await eventually(
        "inference's readiness to turn false",
        async () => {
          const ops = await fetch(`${stack.opsUrl('inference')}/readyz`, { signal: AbortSignal.timeout(2_000) });
          return ops.status === 503 ? true : undefined;
        },
        3_000,
      );
    } finally {
      stack.nats.resume();
    }
    await allReady(10_000);
    // A turn caught in the freeze may still time out on its way; whatever fails meanwhile is a retryable 503.
    await eventually('a completion to succeed after the thaw', async () => {
      const res = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: MODEL, messages: [{ role: 'user', content: 'still there?' }] },
      });
      if (res.status !== 200) expect(res.status).toBe(503);
      return res.status === 200 ? true : undefined;
    });
  });

  it('chaos - an inference replica SIGKILLed with another running: streams end retryably or finish; new requests succeed', async () => {
    const second = await stack.startReplica('inference');
    await stack.configureSim({ interTokenMs: 50, tokens: 80 });
    try {
      const streams = await Promise.all(Array.from({ length: 10 }, () => conversationStream()));
      await within(Promise.all(streams.map((s) => s.firstDelta)), 10_000, 'the first token of every stream');
      await stack.killApp('inference', 'SIGKILL');
      const endings = await within(Promise.all(streams.map((s) => s.ended)), 15_000, 'every stream to end');
      for (const { terminals } of endings) {
        expect(terminals).toHaveLength(1);
        if (terminals[0]!.kind === 'error') expect(terminals[0]).toMatchObject({ retryable: true });
      }
      // Some streams were on the killed replica: they end with a retryable error, not silence.
      expect(endings.filter((e) => e.terminals[0]!.kind === 'error').length).toBeGreaterThan(0);
    } finally {
      await stack.configureSim(QUICK_STREAM);
    }
    // The survivor takes every new request at once.
    for (let i = 0; i < 3; i++) await completes();
    await second.kill('SIGTERM');
    await stack.startApp('inference');
  });
});

describe('gateway shutdown', () => {
  it('chaos - SIGTERM of a gateway with streams open: each ends shutting_down after the grace; conversations resume elsewhere with no gap', async () => {
    const GRACE_MS = 500;
    const doomed = await stack.startExtraGateway({ PARLEY_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    await stack.configureSim(SLOW_STREAM);
    try {
      const open = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const created = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
          const { id } = (await created.json()) as { id: string };
          const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
            baseUrl: doomed,
            method: 'POST',
            json: { content: 'tell me a long story' },
            signal: AbortSignal.timeout(30_000),
          });
          expect(res.status).toBe(200);
          const turnId = res.headers.get('x-parley-turn-id')!;
          const events = readSse(res);
          const first = await events.next();
          expect(first.value).toMatchObject({ event: 'delta', id: '1' });
          return { id, turnId, events, text: JSON.parse(first.value!.data).text as string, lastId: 1 };
        }),
      );
      const stateless = await stack.fetch('/v1/chat/completions', {
        baseUrl: doomed,
        method: 'POST',
        json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] },
        signal: AbortSignal.timeout(30_000),
      });
      expect(stateless.status).toBe(200);
      const statelessEvents = readSse(stateless);
      await statelessEvents.next();

      const stopping = stack.killGateway(doomed, 'SIGTERM');
      const sigtermAt = performance.now();
      for (const stream of open) {
        let ending: { code: string; retryable: boolean } | undefined;
        for await (const event of stream.events) {
          if (event.event === 'delta') {
            expect(Number(event.id)).toBe(stream.lastId + 1);
            stream.lastId = Number(event.id);
            stream.text += (JSON.parse(event.data) as { text: string }).text;
          } else if (event.event === 'error') {
            ending = (JSON.parse(event.data) as { error: { code: string; retryable: boolean } }).error;
          } else {
            throw new Error(`the stream ended with ${event.event} before the shutdown`);
          }
        }
        expect(ending).toEqual(expect.objectContaining({ code: 'shutting_down', retryable: true }));
      }
      let statelessEnding: string | undefined;
      for await (const event of statelessEvents) {
        const data = JSON.parse(event.data) as { error?: { code: string } };
        if (data.error) statelessEnding = data.error.code;
      }
      expect(statelessEnding).toBe('shutting_down');
      expect(await stopping).toEqual({ code: 0, signal: null });
      // Bounded by the grace, not by the turns (10 s each).
      expect(performance.now() - sigtermAt).toBeLessThan(GRACE_MS + 4_000);

      // Every conversation turn went on: resumed on the other replica after its last id, it completes, no gap.
      await stack.configureSim(QUICK_STREAM);
      for (const stream of open) {
        const res = await stack.fetch(`/v1/conversations/${stream.id}/turns/${stream.turnId}/events`, {
          headers: { 'last-event-id': String(stream.lastId) },
          signal: AbortSignal.timeout(30_000),
        });
        let done = false;
        for await (const event of readSse(res)) {
          if (event.event === 'delta') {
            expect(Number(event.id)).toBe(stream.lastId + 1);
            stream.lastId = Number(event.id);
            stream.text += (JSON.parse(event.data) as { text: string }).text;
          } else if (event.event === 'done') done = true;
        }
        expect(done).toBe(true);
        const stored = (await (await stack.fetch(`/v1/conversations/${stream.id}`)).json()) as {
          messages: { role: string; content: string }[];
        };
        expect(stored.messages.at(-1)).toMatchObject({ role: 'assistant', content: stream.text });
      }
    } finally {
      await stack.configureSim(QUICK_STREAM);
    }
  });
});
