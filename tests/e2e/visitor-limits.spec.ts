/**
 * Rate limits on the widget's public side, over real HTTP against the whole stack, with limits small enough
 * to reach: new sessions per address, messages per visitor, messages per address.
 */
import { freePort } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from './stack.js';

const WIDGET_KEY = 'pk_test_limits_0123456789';

let stack: Stack;
let origin: string;

beforeAll(async () => {
  const port = await freePort();
  origin = `http://localhost:${port}`;
  stack = await Stack.start({
    sim: { replyText: 'Fine.', ttftMs: 1, interTokenMs: 1 },
    gatewayEnv: {
      PORT: String(port),
      PARLEY_WIDGET_KEYS: `${WIDGET_KEY}=${origin}`,
      PARLEY_VISITOR_TOKEN_SECRET: 'test-secret-that-is-at-least-32-characters',
      PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: '2',
      PARLEY_VISITOR_MESSAGES_PER_MINUTE: '2',
      PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE: '3',
    },
  });
}, 60_000);
afterAll(() => stack?.stop());

type Session = { visitorToken: string; visitorId: string };

const newSession = (visitorToken?: string) =>
  stack.fetch('/v1/widget/session', {
    key: null,
    method: 'POST',
    headers: { origin },
    json: visitorToken ? { key: WIDGET_KEY, visitorToken } : { key: WIDGET_KEY },
  });

const send = (visitor: Session, conversationId: string, content: string, idempotencyKey?: string) =>
  stack.fetch(`/v1/conversations/${conversationId}/messages`, {
    key: visitor.visitorToken,
    method: 'POST',
    headers: { origin, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    json: { content },
  });

async function expectLimited(res: Response, message: RegExp): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(3600);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('rate_limited');
  expect(body.error.message).toMatch(message);
}

describe('visitor limits', () => {
  let alice: Session;
  let bob: Session;

  it('limits - an address starts a bounded number of visitor sessions; renewing one is not a new one', async () => {
    const first = await newSession();
    const second = await newSession();
    expect([first.status, second.status]).toEqual([201, 201]);
    [alice, bob] = [(await first.json()) as Session, (await second.json()) as Session];
    await expectLimited(await newSession(), /new chat sessions/);
    const renewed = await newSession(alice.visitorToken);
    expect(renewed.status).toBe(201);
    expect(((await renewed.json()) as Session).visitorId).toBe(alice.visitorId);
  });

  it('limits - a visitor over the limit is refused before anything is stored or sent to the model', async () => {
    await stack.clearSimRequests();
    const created = await stack.fetch('/v1/conversations', {
      key: alice.visitorToken,
      method: 'POST',
      headers: { origin },
      json: {},
    });
    expect(created.status).toBe(201); // counts as one
    const { id } = (await created.json()) as { id: string };
    const first = await send(alice, id, 'Where is my order?', 'key-1');
    expect(first.status).toBe(200);
    await first.text(); // the whole reply, so the turn is stored
    await expectLimited(await send(alice, id, 'And now?', 'key-2'), /too many messages/);
    // A replay of a message that was accepted is not a new one: it is answered, not refused.
    const replay = await send(alice, id, 'Where is my order?', 'key-1');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await replay.text();
    const stored = (await (
      await stack.fetch(`/v1/conversations/${id}`, { key: alice.visitorToken, headers: { origin } })
    ).json()) as { messages: { role: string; content: string }[] };
    expect(stored.messages.map((m) => m.content)).toEqual(['Where is my order?', 'Fine.']);
    expect(await stack.simRequests()).toHaveLength(1);
  });

  it('limits - visitors behind one address share its limit, and refusals are counted in /metrics', async () => {
    // Alice's conversation and message used two of the address's three; Bob's conversation is the third.
    const created = await stack.fetch('/v1/conversations', {
      key: bob.visitorToken,
      method: 'POST',
      headers: { origin },
      json: {},
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await expectLimited(await send(bob, id, 'Hello?'), /too many messages from your network/);
    const metrics = await (await stack.fetch('/metrics', { key: null })).text();
    for (const limit of ['sessions_per_address', 'messages_per_visitor', 'messages_per_address']) {
      expect(metrics).toMatch(new RegExp(`^parley_rate_limited_total\\{limit="${limit}"[^}]*\\} 1$`, 'm'));
    }
  });
});
