import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, collectSse, eventually, readSse, type SseEvent } from './stack.js';

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await Stack.start();
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

async function newConversation(): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function messagesOf(id: string) {
  const res = await stack.fetch(`/v1/conversations/${id}`);
  return (
    (await res.json()) as { messages: { role: string; content: string; turnId: string; finishReason?: string }[] }
  ).messages;
}

const text = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'delta')
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join('');

/** Runs `body` with a slower simulated model, then restores the fast one. */
async function slowly<T>(body: () => Promise<T>, tokens = 30): Promise<T> {
  await stack.configureSim({ interTokenMs: 40, tokens });
  try {
    return await body();
  } finally {
    await stack.configureSim({ interTokenMs: 2, tokens: 12 });
  }
}

describe('resume', () => {
  it('resume - a second gateway continues mid-stream with every later frame exactly once, in order', async () => {
    const second = await stack.startExtraGateway();
    await slowly(async () => {
      const id = await newConversation();
      const controller = new AbortController();
      const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
        method: 'POST',
        json: { content: 'resume me' },
        signal: controller.signal,
      });
      const turnId = res.headers.get('x-parley-turn-id')!;
      const before: SseEvent[] = [];
      for await (const event of readSse(res)) {
        before.push(event);
        if (before.length === 3) break;
      }
      controller.abort();
      const resumed = await stack.fetch(`/v1/conversations/${id}/turns/${turnId}/events`, {
        baseUrl: second,
        headers: { 'last-event-id': '3' },
      });
      expect(resumed.status).toBe(200);
      const after = await collectSse(resumed);
      const all = [...before, ...after];
      expect(all.map((e) => Number(e.id))).toEqual(all.map((_, i) => i + 1));
      expect(all.at(-1)?.event).toBe('done');
      const stored = await messagesOf(id);
      expect(text(all)).toBe(stored.at(-1)?.content);
    });
  });

  it('resume - a client that leaves does not stop the turn: the reply completes and is stored', async () => {
    await slowly(async () => {
      const id = await newConversation();
      const controller = new AbortController();
      const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
        method: 'POST',
        json: { content: 'finish without me' },
        signal: controller.signal,
      });
      for await (const event of readSse(res)) if (event.event === 'delta') break;
      controller.abort();
      const stored = await eventually('the reply to be stored', async () => {
        const messages = await messagesOf(id);
        return messages.length === 2 ? messages : undefined;
      });
      expect(stored[1]).toMatchObject({ role: 'assistant', finishReason: 'stop' });
      expect((await stack.simRequests()).at(-1)?.aborted).toBe(false);
    }, 15);
  });

  it('resume - after the frames expired, the finished reply comes from history', async () => {
    const id = await newConversation();
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } });
    const turnId = res.headers.get('x-parley-turn-id')!;
    const live = await collectSse(res);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge('PARLEY_FRAMES', { filter: `parley.turn.frames.v1.${turnId}` });
    const resumed = await collectSse(await stack.fetch(`/v1/conversations/${id}/turns/${turnId}/events`));
    expect(resumed.map((e) => e.event)).toEqual(['delta', 'done']);
    expect(text(resumed)).toBe(text(live));
    expect(JSON.parse(resumed[1]!.data)).toMatchObject({ fromHistory: true, finishReason: 'stop' });
  });

  it('resume - a turn of another conversation, or a bad Last-Event-ID, is refused', async () => {
    const a = await newConversation();
    const b = await newConversation();
    const res = await stack.fetch(`/v1/conversations/${a}/messages`, { method: 'POST', json: { content: 'x' } });
    const turnId = res.headers.get('x-parley-turn-id')!;
    await collectSse(res);
    const foreign = await stack.fetch(`/v1/conversations/${b}/turns/${turnId}/events`);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: { code: 'turn_not_found' } });
    const bad = await stack.fetch(`/v1/conversations/${a}/turns/${turnId}/events`, {
      headers: { 'last-event-id': 'x' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('cancel', () => {
  it('cancel - stops generation, aborts upstream, stores the partial reply as cancelled', async () => {
    await slowly(async () => {
      const id = await newConversation();
      await stack.clearSimRequests();
      const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
        method: 'POST',
        json: { content: 'stop me' },
      });
      const turnId = res.headers.get('x-parley-turn-id')!;
      const events: SseEvent[] = [];
      for await (const event of readSse(res)) {
        events.push(event);
        if (events.length === 2) {
          const cancel = await stack.fetch(`/v1/conversations/${id}/turns/${turnId}/cancel`, { method: 'POST' });
          expect(cancel.status).toBe(202);
        }
      }
      expect(events.at(-1)?.event).toBe('done');
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ finishReason: 'cancelled' });
      await eventually('llm-sim to see the abort', async () =>
        (await stack.simRequests())[0]?.aborted ? true : undefined,
      );
      const stored = await messagesOf(id);
      expect(stored[1]).toMatchObject({ role: 'assistant', finishReason: 'cancelled', content: text(events) });
      expect(text(events).length).toBeGreaterThan(0);
    }, 200);
  });
});

describe('idempotency', () => {
  it('idempotency - two concurrent requests with one key on two gateways make one turn', async () => {
    const second = await stack.startExtraGateway();
    const id = await newConversation();
    const send = (baseUrl?: string) =>
      stack.fetch(`/v1/conversations/${id}/messages`, {
        method: 'POST',
        baseUrl,
        headers: { 'idempotency-key': 'order-42-retry' },
        json: { content: 'only once' },
      });
    const [a, b] = await Promise.all([send(), send(second)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get('x-parley-turn-id')).toBe(b.headers.get('x-parley-turn-id'));
    const [eventsA, eventsB] = await Promise.all([collectSse(a), collectSse(b)]);
    expect(text(eventsA)).toBe(text(eventsB));
    expect(eventsA.at(-1)?.event).toBe('done');
    expect((await messagesOf(id)).map((m) => m.role)).toEqual(['user', 'assistant']);
    const later = await send();
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(text(await collectSse(later))).toBe(text(eventsA));
    expect(await messagesOf(id)).toHaveLength(2);
  });

  it('idempotency - with no responder, concurrent requests with one key get 503 at once; a retry later starts a turn', async () => {
    const id = await newConversation();
    const send = () =>
      stack.fetch(`/v1/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'idempotency-key': 'no-responder-yet' },
        json: { content: 'are you there?' },
      });
    await stack.killApp('responder', 'SIGTERM');
    try {
      const started = performance.now();
      const refused = await Promise.all(Array.from({ length: 4 }, send));
      // None re-attaches to a turn that never started: each is refused, retryably, in well under a second or two.
      expect(refused.map((res) => res.status)).toEqual([503, 503, 503, 503]);
      expect(refused.map((res) => res.headers.get('idempotent-replayed'))).toEqual([null, null, null, null]);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await stack.startApp('responder');
    }
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect((await collectSse(retry)).at(-1)?.event).toBe('done');
    expect((await messagesOf(id)).map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('idempotency - the same key with a different body is a 422 and stores nothing', async () => {
    const id = await newConversation();
    const first = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k-1' },
      json: { content: 'one' },
    });
    await collectSse(first);
    const reused = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k-1' },
      json: { content: 'two' },
    });
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    expect(await messagesOf(id)).toHaveLength(2);
  });
});

describe('feedback', () => {
  it('feedback - a reply can be rated up or down, a new rating replaces the old, bad input is refused', async () => {
    const id = await newConversation();
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'rate me' } });
    const turnId = res.headers.get('x-parley-turn-id')!;
    await collectSse(res);
    const path = `/v1/conversations/${id}/turns/${turnId}/feedback`;
    const up = await stack.fetch(path, { method: 'POST', json: { rating: 'up' } });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ turnId, rating: 'up' });
    const down = await stack.fetch(path, { method: 'POST', json: { rating: 'down', reason: 'wrong order number' } });
    expect(await down.json()).toEqual({ turnId, rating: 'down', reason: 'wrong order number' });
    const stored = await (await new Kvm(nc).open('parley_feedback')).get(turnId);
    expect(stored?.json()).toMatchObject({ conversationId: id, rating: 'down', reason: 'wrong order number' });
    expect((await stack.fetch(path, { method: 'POST', json: { rating: 'meh' } })).status).toBe(400);
    const metrics = await (await stack.fetch('/metrics', { key: null })).text();
    const labels = 'model="sim-model",arm="default",target="default"';
    expect(metrics).toMatch(new RegExp(`parley_feedback_total\\{${labels},rating="up",service="gateway"\\} 1\\b`));
    expect(metrics).toMatch(new RegExp(`parley_feedback_total\\{${labels},rating="down",service="gateway"\\} 1\\b`));
    // The change from up to down moved the count: the up is retracted.
    expect(metrics).toMatch(
      new RegExp(`parley_feedback_retracted_total\\{${labels},rating="up",service="gateway"\\} 1\\b`),
    );
    const other = await newConversation();
    const foreign = await stack.fetch(`/v1/conversations/${other}/turns/${turnId}/feedback`, {
      method: 'POST',
      json: { rating: 'up' },
    });
    expect(foreign.status).toBe(404);
  });
});

describe('erasure', () => {
  it('erasure - DELETE leaves nothing readable through the API or in JetStream', async () => {
    const id = await newConversation();
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      headers: { 'idempotency-key': 'erase-me' },
      json: { content: 'forget me' },
    });
    const turnId = res.headers.get('x-parley-turn-id')!;
    await collectSse(res);
    await stack.fetch(`/v1/conversations/${id}/turns/${turnId}/feedback`, { method: 'POST', json: { rating: 'up' } });
    const erased = await stack.fetch(`/v1/conversations/${id}`, { method: 'DELETE' });
    expect(erased.status).toBe(200);
    expect(await erased.json()).toMatchObject({
      conversationId: id,
      messages: 2,
      turns: 1,
      feedback: 1,
      idempotencyKeys: 1,
    });
    for (const path of [`/v1/conversations/${id}`, `/v1/conversations/${id}/turns/${turnId}/events`]) {
      expect((await stack.fetch(path)).status).toBe(404);
    }
    const jsm = await jetstreamManager(nc);
    for (const [stream, subject] of [
      ['PARLEY_HISTORY', `parley.history.v1.${id}`],
      ['PARLEY_FRAMES', `parley.turn.frames.v1.${turnId}`],
    ] as const) {
      const info = await jsm.streams.info(stream, { subjects_filter: subject });
      expect(info.state.subjects?.[subject] ?? 0, subject).toBe(0);
    }
    const kvm = new Kvm(nc);
    // A purged key keeps only a purge marker: no value, no earlier revisions.
    for (const [bucket, key] of [
      ['parley_conversations', id],
      ['parley_turns', turnId],
      ['parley_feedback', turnId],
    ] as const) {
      const kv = await kvm.open(bucket);
      const entry = await kv.get(key);
      expect(entry === null || (entry.operation === 'PURGE' && entry.length === 0), bucket).toBe(true);
      const revisions: unknown[] = [];
      for await (const revision of await kv.history({ key }))
        if (revision.operation === 'PUT') revisions.push(revision);
      expect(revisions, bucket).toEqual([]);
    }
    const keys: string[] = [];
    for await (const key of await (await kvm.open('parley_idempotency')).keys(`${id}.>`)) keys.push(key);
    expect(keys).toEqual([]);
  });
});
