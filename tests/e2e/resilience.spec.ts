import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, Stack, eventually, readSse, type SseEvent } from './stack.js';

const INTER_TOKEN_TIMEOUT_MS = 1_500;
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    env: { PARLEY_INTER_TOKEN_TIMEOUT_MS: String(INTER_TOKEN_TIMEOUT_MS), PARLEY_FIRST_TOKEN_TIMEOUT_MS: '3000' },
  });
});
afterAll(() => stack?.stop());

async function newConversation(): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Sends a message and runs `onFirstDelta` once the first token arrived; returns every event and when it came. */
async function sendAndInterrupt(id: string, onFirstDelta: () => Promise<void>) {
  const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'tell me' } });
  expect(res.status).toBe(200);
  const events: (SseEvent & { at: number })[] = [];
  let interruptedAt = 0;
  for await (const event of readSse(res)) {
    events.push({ ...event, at: performance.now() });
    if (event.event === 'delta' && interruptedAt === 0) {
      await onFirstDelta();
      interruptedAt = performance.now();
    }
  }
  return { events, interruptedAt };
}

describe('resilience', () => {
  it('turns - a killed inference process mid-stream ends the stream with a retryable error event', async () => {
    await stack.configureSim({ interTokenMs: 100, tokens: 200 });
    try {
      const id = await newConversation();
      const { events, interruptedAt } = await sendAndInterrupt(id, () => stack.killApp('inference', 'SIGKILL'));
      const last = events.at(-1)!;
      expect(last.event).toBe('error');
      const data = JSON.parse(last.data) as { error: { code: string; retryable: boolean } };
      expect(data.error).toMatchObject({ code: 'inter_token_timeout', retryable: true });
      expect(events.filter((e) => e.event === 'error')).toHaveLength(1);
      expect(Number(last.id)).toBe(events.length);
      // Bounded by the inter-token timeout (plus the time to reach the kill), never hanging.
      expect(last.at - interruptedAt).toBeLessThan(INTER_TOKEN_TIMEOUT_MS + 1_000);
    } finally {
      await stack.configureSim({ interTokenMs: 2, tokens: 12 });
      await stack.startApp('inference');
    }
  });

  it('turns - a killed responder mid-stream ends the stream with responder_lost', async () => {
    await stack.configureSim({ interTokenMs: 100, tokens: 200 });
    try {
      const id = await newConversation();
      await stack.clearSimRequests();
      const { events } = await sendAndInterrupt(id, () => stack.killApp('responder', 'SIGKILL'));
      const last = events.at(-1)!;
      expect(last.event).toBe('error');
      expect(JSON.parse(last.data)).toMatchObject({ error: { code: 'responder_lost', retryable: true } });
      // The orphaned generation is cancelled, so the model server stops spending a slot on it.
      await eventually('the upstream request to be aborted', async () => {
        const [record] = await stack.simRequests();
        return record?.aborted ? true : undefined;
      });
    } finally {
      await stack.configureSim({ interTokenMs: 2, tokens: 12 });
      await stack.startApp('responder');
    }
  });

  it('shutdown - SIGTERM to responder and inference mid-stream lets the running turn finish', async () => {
    await stack.configureSim({ interTokenMs: 20, tokens: 40 });
    try {
      const id = await newConversation();
      let stopped: Promise<unknown> = Promise.resolve();
      const { events } = await sendAndInterrupt(id, async () => {
        stopped = Promise.all([stack.killApp('responder', 'SIGTERM'), stack.killApp('inference', 'SIGTERM')]);
      });
      expect(events.at(-1)?.event).toBe('done');
      expect(events.filter((e) => e.event === 'delta').length).toBe(40);
      await stopped;
    } finally {
      await stack.configureSim({ interTokenMs: 2, tokens: 12 });
      await Promise.all([stack.startApp('responder'), stack.startApp('inference')]);
    }
  });

  it('turns - with no responder running, requests get 503 with Retry-After at once and store nothing', async () => {
    const id = await newConversation();
    await stack.killApp('responder', 'SIGTERM');
    try {
      const started = performance.now();
      const chat = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(chat.status).toBe(503);
      expect(chat.headers.get('retry-after')).toBe('1');
      expect(await chat.json()).toMatchObject({ error: { code: 'no_responder' } });
      expect(performance.now() - started).toBeLessThan(1_000);
      const send = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } });
      expect(send.status).toBe(503);
      expect(await send.json()).toMatchObject({ error: { code: 'no_responder' } });
      // The gateway itself stays ready (it answers every request precisely) and says what is missing.
      const ready = await stack.fetch('/readyz', { key: null });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { nats: true, responder: false, inference: true } });
    } finally {
      await stack.startApp('responder');
    }
    const conversation = await stack.fetch(`/v1/conversations/${id}`);
    expect(((await conversation.json()) as { messages: unknown[] }).messages).toEqual([]);
  });

  it('turns - with no inference replica, a message gets 503 no_inference and stores nothing', async () => {
    const id = await newConversation();
    await stack.killApp('inference', 'SIGTERM');
    try {
      const send = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } });
      expect(send.status).toBe(503);
      expect(send.headers.get('retry-after')).toBe('1');
      expect(await send.json()).toMatchObject({ error: { code: 'no_inference' } });
    } finally {
      await stack.startApp('inference');
    }
    const conversation = await stack.fetch(`/v1/conversations/${id}`);
    expect(((await conversation.json()) as { messages: unknown[] }).messages).toEqual([]);
  });

  it('nats - services report not ready while NATS is down and recover without a restart', async () => {
    await stack.nats.stop({ keepStore: true });
    await eventually('readyz to turn false', async () => {
      const res = await stack.fetch('/readyz', { key: null });
      return res.status === 503 ? res : undefined;
    });
    await stack.nats.restart();
    // Each service reconnects on its own: the gateway's readiness says when all three are back.
    await eventually(
      'readyz to report every service back',
      async () => {
        const res = await stack.fetch('/readyz', { key: null });
        const { checks } = (await res.json()) as { checks: Record<string, boolean> };
        return res.status === 200 && Object.values(checks).every(Boolean) ? true : undefined;
      },
      20_000,
    );
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'still there?' }],
    });
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
  });

  it('history - conversations survive a restart of NATS and every service', async () => {
    const id = await newConversation();
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      json: { content: 'remember me' },
    });
    expect(res.status).toBe(200);
    for await (const _ of readSse(res)) void _;
    await Promise.all((['gateway', 'responder', 'inference'] as const).map((app) => stack.killApp(app, 'SIGTERM')));
    await stack.nats.restart();
    await Promise.all([stack.startApp('inference'), stack.startApp('responder')]);
    await stack.startApp('gateway');
    const after = await stack.fetch(`/v1/conversations/${id}`);
    expect(after.status).toBe(200);
    const { messages } = (await after.json()) as { messages: { role: string; content: string }[] };
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(messages[0]?.content).toBe('remember me');
  });
});
