/**
 * Keys, projects and consumption limits across two gateway replicas, over real HTTP, real Redis and real
 * NATS: limits hold on both together, budgets never overspend under concurrency, revocation reaches the other
 * replica within a second, a killed replica's stream slots come back, rotation keeps a key's conversations.
 */
import type { KeyCreated, UsageReport } from '@parley/contracts';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, MODEL, Stack, eventually, readSse } from './stack.js';

const LEASE_TTL_MS = 1_500;
const WIDGET_KEY = 'pk_test_limits_spec_0123456789';
const ORIGIN = 'http://localhost:1';

let stack: Stack;
let other: string;

beforeAll(async () => {
  stack = await Stack.start({
    sim: { replyText: 'One two three four five.', ttftMs: 1, interTokenMs: 1 },
    gatewayEnv: {
      PARLEY_LEASE_TTL_MS: String(LEASE_TTL_MS),
      PARLEY_WIDGET_KEYS: `${WIDGET_KEY}=${ORIGIN}`,
      PARLEY_VISITOR_TOKEN_SECRET: 'test-secret-that-is-at-least-32-characters',
      PARLEY_VISITOR_MESSAGES_PER_MINUTE: '100',
      PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE: '100',
    },
  });
  other = await stack.startExtraGateway();
}, 60_000);
afterAll(() => stack?.stop());

const admin = (path: string, init: RequestInit & { json?: unknown; baseUrl?: string } = {}) =>
  stack.fetch(`/v1/admin${path}`, { ...init, key: ADMIN_KEY });

let projects = 0;
/** A new project with `limits`, and a key of it with `keyLimits`. */
async function keyWith(
  limits: Record<string, number> = {},
  keyLimits: Record<string, number> = {},
  scopes = ['chat', 'conversations'],
): Promise<KeyCreated> {
  const project = `p${String(++projects)}-${Date.now().toString(36)}`;
  expect((await admin('/projects', { method: 'POST', json: { id: project, limits } })).status).toBe(201);
  const res = await admin('/keys', { method: 'POST', json: { project, name: 'test', scopes, limits: keyLimits } });
  expect(res.status).toBe(201);
  return (await res.json()) as KeyCreated;
}

const chat = (key: string, baseUrl: string, body: Record<string, unknown> = {}) =>
  stack.fetch('/v1/chat/completions', {
    key,
    baseUrl,
    method: 'POST',
    json: { model: MODEL, messages: [{ role: 'user', content: 'Hello there' }], ...body },
  });

/** Waits out the current minute when less than `marginMs` of it is left, so a test's requests share a window. */
async function sameMinute(marginMs = 8_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe('keys and projects', () => {
  it('keys - a created key works at once on both replicas, its secret is shown once and stored only as a digest', async () => {
    const created = await keyWith();
    expect(created.key).toMatch(/^psk_[A-Za-z0-9_-]{43}$/);
    for (const baseUrl of [stack.gatewayUrl, other]) {
      expect((await chat(created.key, baseUrl)).status).toBe(200);
    }
    const shown = await (await admin(`/keys/${created.id}`)).text();
    expect(shown).not.toContain(created.key);
    expect(shown).not.toContain('digest');
    const listed = await (await admin(`/keys?project=${created.project}`)).json();
    expect(listed).toMatchObject({ object: 'list', data: [{ id: created.id, hint: created.key.slice(-4) }] });
  });

  it('keys - revoked on one replica, the key is refused on the other within a second', async () => {
    const created = await keyWith();
    expect((await chat(created.key, other)).status).toBe(200);
    expect((await admin(`/keys/${created.id}`, { method: 'DELETE' })).status).toBe(200);
    const revokedAt = performance.now();
    await eventually('the other replica refuses the key', async () =>
      (await chat(created.key, other)).status === 401 ? true : undefined,
    );
    expect(performance.now() - revokedAt).toBeLessThan(1_000);
  });

  it('keys - a rotated key keeps its conversations; the old secret works only during its grace', async () => {
    const created = await keyWith();
    const conversation = await stack.fetch('/v1/conversations', { key: created.key, method: 'POST', json: {} });
    expect(conversation.status).toBe(201);
    const { id } = (await conversation.json()) as { id: string };
    const rotate = await admin(`/keys/${created.id}/rotate`, { method: 'POST', json: { gracePeriodSeconds: 0 } });
    expect(rotate.status).toBe(200);
    const rotated = (await rotate.json()) as KeyCreated;
    expect(rotated.id).toBe(created.id);
    expect(rotated.key).not.toBe(created.key);
    await eventually('the old secret is refused', async () =>
      (await stack.fetch(`/v1/conversations/${id}`, { key: created.key, baseUrl: other })).status === 401
        ? true
        : undefined,
    );
    for (const baseUrl of [stack.gatewayUrl, other]) {
      expect((await stack.fetch(`/v1/conversations/${id}`, { key: rotated.key, baseUrl })).status).toBe(200);
    }
    const graced = (await (
      await admin(`/keys/${created.id}/rotate`, { method: 'POST', json: { gracePeriodSeconds: 600 } })
    ).json()) as KeyCreated;
    for (const key of [rotated.key, graced.key]) {
      expect((await stack.fetch(`/v1/conversations/${id}`, { key })).status).toBe(200);
    }
  });

  it('keys - scopes and model allow-lists are enforced; bad admin input is a 400 that changes nothing', async () => {
    const conversationsOnly = await keyWith({}, {}, ['conversations']);
    const refused = await chat(conversationsOnly.key, stack.gatewayUrl);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'forbidden' } });
    expect((await stack.fetch('/v1/admin/keys', { key: conversationsOnly.key })).status).toBe(403);

    const project = `models-${Date.now().toString(36)}`;
    await admin('/projects', { method: 'POST', json: { id: project, models: ['someone-else'] } });
    const key = (await (
      await admin('/keys', { method: 'POST', json: { project, name: 'm', scopes: ['chat'] } })
    ).json()) as KeyCreated;
    const wrongModel = await chat(key.key, stack.gatewayUrl);
    expect(wrongModel.status).toBe(403);
    expect(await wrongModel.json()).toMatchObject({ error: { code: 'forbidden', param: 'model' } });
    const models = (await (await stack.fetch('/v1/models', { key: key.key })).json()) as { data: unknown[] };
    expect(models.data).toEqual([]);

    const before = (await (await admin('/keys')).json()) as { data: unknown[] };
    for (const body of [
      { project: 'nobody', name: 'x', scopes: ['chat'] },
      { project, name: 'x', scopes: ['root'] },
      { project, name: 'x', scopes: ['chat'], limits: { requestsPerMinute: -1 } },
      { project, name: 'x', scopes: ['chat'], secret: 'mine' },
    ]) {
      const res = await admin('/keys', { method: 'POST', json: body });
      expect([400, 404]).toContain(res.status);
    }
    expect(((await (await admin('/keys')).json()) as { data: unknown[] }).data).toHaveLength(before.data.length);
    const weak = await admin('/projects', { method: 'POST', json: { id: 'Bad Id' } });
    expect(weak.status).toBe(400);
  });
});

describe('limits', () => {
  it('limits - a key’s requests per minute hold across both replicas, with accurate headers', async () => {
    const { key } = await keyWith({}, { requestsPerMinute: 10 });
    await sameMinute();
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => chat(key, i % 2 === 0 ? stack.gatewayUrl : other)),
    );
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(limited).toHaveLength(20);
    const retryAfter = Number(limited[0]!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await limited[0]!.json()).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ok[0]!.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(ok[0]!.headers.get('ratelimit-policy')).toMatch(/"requests";q=10;w=60/);
    expect(ok[0]!.headers.get('ratelimit')).toMatch(/"requests";r=\d+;t=\d+/);
  });

  it('limits - 50 concurrent requests against a small daily budget never spend more than it', async () => {
    const BUDGET = 1_000;
    const created = await keyWith({ tokensPerDay: BUDGET });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        chat(created.key, i % 2 === 0 ? stack.gatewayUrl : other, { max_tokens: 20 }),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(ok.length + refused.length).toBe(50);
    let spent = 0;
    for (const res of ok) spent += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    expect(spent).toBeLessThanOrEqual(BUDGET);
    const body = (await refused[0]!.json()) as { error: { code: string } };
    expect(body.error.code).toBe('budget_exhausted');
    // Until the day's end, not a second.
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
    // The usage stream agrees with what the clients were told.
    const report = await eventually('the usage report has every request', async () => {
      const res = await admin(`/usage?project=${created.project}&groupBy=key`);
      const usage = (await res.json()) as UsageReport;
      return usage.data[0]?.requests === ok.length ? usage : undefined;
    });
    expect(report.data[0]).toMatchObject({ group: created.id, total_tokens: spent });
  });

  it('limits - a request that could never fit, or asks for more than the model allows, is a 400 naming max_tokens', async () => {
    const { key } = await keyWith({ tokensPerMinute: 100 });
    const tooBig = await chat(key, stack.gatewayUrl, { max_tokens: 500 });
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toMatchObject({ error: { code: 'invalid_request', param: 'max_tokens' } });
    const overModel = await chat(API_KEY, stack.gatewayUrl, { max_tokens: 100_000_000 });
    expect(overModel.status).toBe(400);
    expect(await overModel.json()).toMatchObject({ error: { param: 'max_tokens' } });
    // Without max_tokens, the model's default goes upstream: no turn is unbounded.
    await stack.clearSimRequests();
    expect((await chat(API_KEY, stack.gatewayUrl)).status).toBe(200);
    const [sent] = await stack.simRequests();
    expect(sent!.body?.max_tokens).toBe(1024);
  });

  it('limits - a killed replica’s stream slots come back after their lease', async () => {
    const { key } = await keyWith({}, { concurrentStreams: 1 });
    const replica = await stack.startExtraGateway();
    await stack.configureSim({ interTokenMs: 200, tokens: 40 });
    try {
      const open = await chat(key, replica, { stream: true });
      expect(open.status).toBe(200);
      const held = await chat(key, stack.gatewayUrl);
      expect(held.status).toBe(429);
      expect(await held.json()).toMatchObject({ error: { code: 'rate_limited', message: /concurrent streams/ } });
      await stack.killGateway(replica);
      const killedAt = performance.now();
      await stack.configureSim({ interTokenMs: 1, tokens: 5 });
      await eventually(
        'the slot is free again',
        async () => ((await chat(key, stack.gatewayUrl)).status === 200 ? true : undefined),
        LEASE_TTL_MS * 4,
      );
      expect(performance.now() - killedAt).toBeGreaterThan(LEASE_TTL_MS / 2);
    } finally {
      await stack.configureSim({ interTokenMs: 1, tokens: 12 });
    }
  });

  it('limits - a widget visitor cannot pass its concurrency cap', async () => {
    const session = await stack.fetch('/v1/widget/session', {
      key: null,
      method: 'POST',
      headers: { origin: ORIGIN },
      json: { key: WIDGET_KEY },
    });
    const { visitorToken } = (await session.json()) as { visitorToken: string };
    const visitor = { key: visitorToken, headers: { origin: ORIGIN } };
    const conversation = await stack.fetch('/v1/conversations', { ...visitor, method: 'POST', json: {} });
    const { id } = (await conversation.json()) as { id: string };
    await stack.configureSim({ interTokenMs: 100, tokens: 20 });
    try {
      const first = await stack.fetch(`/v1/conversations/${id}/messages`, {
        ...visitor,
        method: 'POST',
        json: { content: 'one' },
      });
      expect(first.status).toBe(200);
      const second = await stack.fetch(`/v1/conversations/${id}/messages`, {
        ...visitor,
        baseUrl: other,
        method: 'POST',
        json: { content: 'two' },
      });
      expect(second.status).toBe(429);
      expect(await second.json()).toMatchObject({ error: { code: 'rate_limited' } });
      for await (const event of readSse(first)) if (event.event === 'done' || event.event === 'error') break;
      // Settled when its usage is recorded: the next message gets the slot.
      await eventually('the slot is free after the reply', async () => {
        const next = await stack.fetch(`/v1/conversations/${id}/messages`, {
          ...visitor,
          method: 'POST',
          json: { content: 'three' },
        });
        if (next.status !== 200) return undefined;
        for await (const event of readSse(next)) if (event.event === 'done' || event.event === 'error') break;
        return true;
      });
    } finally {
      await stack.configureSim({ interTokenMs: 1, tokens: 12 });
    }
  });

  it('limits - the official client gets 429 as RateLimitError with the retry hint', async () => {
    const { key } = await keyWith({}, { requestsPerMinute: 1 });
    await sameMinute();
    const client = new OpenAI({ apiKey: key, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('client address', () => {
  const session = (baseUrl: string, forwardedFor: string) =>
    stack.fetch('/v1/widget/session', {
      key: null,
      baseUrl,
      method: 'POST',
      headers: { origin: ORIGIN, 'x-forwarded-for': forwardedFor },
      json: { key: WIDGET_KEY },
    });

  it('address - behind one trusted proxy, a spoofed X-Forwarded-For buys no new sessions; IPv6 counts per /64', async () => {
    const proxied = await stack.startExtraGateway({
      PARLEY_TRUST_PROXY: '1',
      PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: '2',
    });
    // The proxy appended the real client (203.0.113.77); what the client wrote before it is not believed.
    const spoofed = await Promise.all(
      ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((fake) => session(proxied, `${fake}, 203.0.113.77`)),
    );
    expect(spoofed.map((r) => r.status).sort()).toEqual([201, 201, 429]);
    const v6 = [];
    for (const host of ['1', 'ff', 'abcd:1']) v6.push((await session(proxied, `2001:db8:5:6::${host}`)).status);
    expect(v6).toEqual([201, 201, 429]);
    expect((await session(proxied, '2001:db8:5:7::1')).status).toBe(201);
  });

  it('address - with no trusted proxy, X-Forwarded-For is ignored', async () => {
    const direct = await stack.startExtraGateway({ PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: '1000' });
    const statuses = new Set<number>();
    // The socket's address is what counts; a new header each time changes nothing (the limit is shared).
    const limited = await stack.startExtraGateway({ PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: '1' });
    for (let i = 0; i < 3; i++) statuses.add((await session(limited, `192.0.2.${String(i)}`)).status);
    expect(statuses.has(429)).toBe(true);
    expect((await session(direct, '192.0.2.200')).status).toBe(201);
  });
});

/** Waits until both replicas count limits in Redis again (connected, budgets rebuilt). */
async function countedInRedis(): Promise<void> {
  await eventually('both replicas count in Redis', async () => {
    for (const baseUrl of [stack.gatewayUrl, other]) {
      const ready = (await (await stack.fetch('/readyz', { key: null, baseUrl })).json()) as {
        checks: { redis: boolean };
      };
      if (!ready.checks.redis) return undefined;
    }
    return true;
  });
}

describe('redis', () => {
  it('redis - while Redis is down, API keys get what PARLEY_REDIS_DOWN_API_KEYS says: refuse or count locally', async () => {
    const refusing = await stack.startExtraGateway({ PARLEY_REDIS_DOWN_API_KEYS: 'refuse' });
    const { key } = await keyWith({}, { requestsPerMinute: 1_000 });
    expect((await chat(key, refusing)).status).toBe(200);
    await stack.redis.kill();
    try {
      const refused = await eventually('the refusing replica answers 503', async () => {
        const res = await chat(key, refusing);
        return res.status === 503 ? res : undefined;
      });
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(await refused.json()).toMatchObject({ error: { code: 'service_unavailable' } });
      expect((await chat(key, stack.gatewayUrl)).status).toBe(200);
      const ready = await stack.fetch('/readyz', { key: null });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { nats: true, redis: false } });
      const metrics = await (await stack.fetch('/metrics', { key: null })).text();
      expect(metrics).toMatch(/^parley_redis_up\{service="gateway"\} 0$/m);
      expect(metrics).toMatch(/^parley_limits_redis_unavailable_total\{policy="local",service="gateway"\} [1-9]/m);
    } finally {
      await stack.redis.restart();
    }
  });

  it('redis - budgets survive a Redis that lost its data: they are rebuilt from the usage stream', async () => {
    await countedInRedis();
    const created = await keyWith({ tokensPerDay: 300 });
    let spent = 0;
    const recorded = () =>
      eventually('usage recorded', async () => {
        const usage = (await (await admin(`/usage?project=${created.project}`)).json()) as UsageReport;
        return (usage.data[0]?.total_tokens ?? 0) === spent ? true : undefined;
      });
    // Spend until refused once every turn is settled (a refusal while one was still reserved may be early).
    for (let refusals = 0; refusals < 2;) {
      const res = await chat(created.key, stack.gatewayUrl, { max_tokens: 20 });
      if (res.status === 200) {
        spent += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
        refusals = 0;
      } else {
        expect(res.status).toBe(429);
        refusals += 1;
        await recorded();
      }
    }
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(300);
    // Without persistence, a crash loses every counter.
    await stack.redis.kill();
    await stack.redis.restart();
    await countedInRedis();
    // The budget is still spent: the restart handed nothing back.
    const after = await eventually('the rebuilt budget refuses', async () => {
      const res = await chat(created.key, stack.gatewayUrl, { max_tokens: 20 });
      return res.status === 429 ? res : undefined;
    });
    expect(await after.json()).toMatchObject({ error: { code: 'budget_exhausted' } });
  });
});
