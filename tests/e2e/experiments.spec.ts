import { readFileSync, writeFileSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  DoneEvent,
  ExperimentReport,
  FeedbackList,
  HistoryMessage,
  ShadowReply,
  UsageReport,
} from '@parley/contracts';
import { ADMIN_KEY, Stack, collectSse, eventually } from './stack.js';

let stack: Stack;

// Prices in US dollars per million tokens; `pinned` sends (nearly) every new conversation to `a`.
const routing = ([a, b]: string[]) => `targets:
  a: { provider: openai-compatible, baseUrl: "${a}", model: model-a, price: { input: 1, output: 2 } }
  b: { provider: openai-compatible, baseUrl: "${b}", model: model-b, price: { input: 3, output: 4 } }
  a2: { provider: openai-compatible, baseUrl: "${a}", model: model-a2, retries: 0 }
models:
  exp:
    split: [{ target: a, weight: 1 }, { target: b, weight: 1 }]
  pinned:
    split: [{ target: a, weight: 1000000 }, { target: b, weight: 0.000001 }]
  failover:
    split: [{ target: a2 }]
    fallbacks: [b]
  shadowed:
    split: [{ target: a }]
    shadow: { target: b, share: 1, maxConcurrent: 4, perMinute: 100 }
`;

beforeAll(async () => {
  stack = await Stack.start({ sims: 2, routing });
});
afterAll(() => stack?.stop());
beforeEach(async () => {
  for (const sim of [0, 1]) await stack.configureSim({ fault: null, replyText: null }, sim);
});

async function conversation(model: string): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: { model } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Sends a message and returns the `done` event. */
async function say(id: string): Promise<DoneEvent> {
  const events = await collectSse(
    await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hello there' } }),
  );
  const done = events.at(-1);
  expect(done?.event).toBe('done');
  return JSON.parse(done!.data) as DoneEvent;
}

async function messages(id: string): Promise<HistoryMessage[]> {
  return ((await (await stack.fetch(`/v1/conversations/${id}`)).json()) as { messages: HistoryMessage[] }).messages;
}

const admin = (path: string) => stack.fetch(`/v1/admin${path}`, { key: ADMIN_KEY });

async function rate(id: string, turnId: string, rating: 'up' | 'down'): Promise<void> {
  const res = await stack.fetch(`/v1/conversations/${id}/turns/${turnId}/feedback`, {
    method: 'POST',
    json: { rating },
  });
  expect(res.status).toBe(200);
}

/** A counter's value at `url`: the series with all of `labels` (0 when there is none yet). */
async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && pairs.every((p) => l.includes(p)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** What a reply cost at `price` (dollars per million tokens). */
const costOf = (usage: DoneEvent['usage'], price: { input: number; output: number }) =>
  (usage!.prompt_tokens * price.input + usage!.completion_tokens * price.output) / 1e6;
const PRICES = { a: { input: 1, output: 2 }, b: { input: 3, output: 4 } } as const;

describe('experiments', () => {
  it('experiments - every reply carries its arm and the target and model that served it', async () => {
    const id = await conversation('exp');
    const done = await say(id);
    expect(['a', 'b']).toContain(done.arm);
    expect(done.target).toBe(done.arm);
    expect(done.upstreamModel).toBe(`model-${done.arm!}`);
    const reply = (await messages(id)).find((m) => m.role === 'assistant');
    expect(reply).toMatchObject({ arm: done.arm, target: done.target, upstreamModel: done.upstreamModel });
    // The conversation stays on its arm.
    expect((await say(id)).arm).toBe(done.arm);

    const { data: completion, response } = await stack
      .openai()
      .chat.completions.create({ model: 'exp', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const arm = response.headers.get('x-parley-arm');
    expect(['a', 'b']).toContain(arm);
    expect(response.headers.get('x-parley-target')).toBe(arm);
    expect(response.headers.get('x-parley-upstream-model')).toBe(`model-${arm!}`);
    expect((completion as unknown as { parley: unknown }).parley).toEqual({
      arm,
      target: arm,
      upstream_model: `model-${arm!}`,
    });

    const { data: stream, response: streamed } = await stack
      .openai()
      .chat.completions.create({ model: 'exp', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk as unknown as { parley?: { arm: string; target: string } });
    const streamedArm = streamed.headers.get('x-parley-arm');
    expect(['a', 'b']).toContain(streamedArm);
    expect(chunks.at(-1)?.parley).toEqual({
      arm: streamedArm,
      target: streamedArm,
      upstream_model: `model-${streamedArm!}`,
    });
  });

  it('experiments - a failover records the arm assigned and the target that served', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 500 } }, 0);
    const id = await conversation('failover');
    const done = await say(id);
    expect(done).toMatchObject({ arm: 'a2', target: 'b', upstreamModel: 'model-b' });
    expect((await messages(id)).find((m) => m.role === 'assistant')).toMatchObject({ arm: 'a2', target: 'b' });

    const { response } = await stack
      .openai()
      .chat.completions.create({ model: 'failover', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-parley-arm')).toBe('a2');
    expect(response.headers.get('x-parley-target')).toBe('b');

    // The usage stream has both: by arm the turns are a2's, by target b's.
    const report = await eventually('the failover turns in the experiment report', async () => {
      const res = await admin('/experiments/failover');
      const body = (await res.json()) as ExperimentReport;
      return body.arms[0]?.turns === 2 ? body : undefined;
    });
    expect(report.arms).toHaveLength(1);
    expect(report.arms[0]).toMatchObject({ arm: 'a2', turns: 2, fallbackRate: 1, errorRate: 0, servedBy: { b: 2 } });
  });

  it('experiments - a weight change leaves existing conversations on their arm; new ones follow the new weights', async () => {
    const file = stack.routingFile!;
    const original = readFileSync(file, 'utf8');
    const inference = stack.services.get('inference')!;
    const existing = await conversation('pinned');
    expect((await say(existing)).arm).toBe('a');
    // Each rewrite adds a marker alias, so that the reload of this very file is awaited.
    const rewrite = async (text: string, marker: string) => {
      writeFileSync(file, `${text}  ${marker}:\n    split: [{ target: a }]\n`);
      await inference.waitForLog((l) => l.msg === 'routing reloaded' && JSON.stringify(l.models).includes(marker));
    };
    const weights = 'split: [{ target: a, weight: 1000000 }, { target: b, weight: 0.000001 }]';
    try {
      await rewrite(
        original.replace(weights, 'split: [{ target: a, weight: 0.000001 }, { target: b, weight: 1000000 }]'),
        'swapped',
      );
      expect(await say(existing)).toMatchObject({ arm: 'a', target: 'a' });
      const fresh = await conversation('pinned');
      expect(await say(fresh)).toMatchObject({ arm: 'b', target: 'b' });
      expect((await say(fresh)).arm).toBe('b');

      // An arm taken out of the split is chosen anew, and the new one is pinned.
      await rewrite(original.replace(weights, 'split: [{ target: b }]'), 'only-b');
      expect(await say(existing)).toMatchObject({ arm: 'b', target: 'b' });
      await rewrite(original, 'restored');
    } finally {
      writeFileSync(file, original);
    }
    expect((await say(existing)).arm).toBe('b');
  });

  it('experiments - ratings are read per conversation and per project; a changed rating moves the count', async () => {
    const id = await conversation('exp');
    const { turnId, arm } = (await say(id)) as DoneEvent & { turnId: string };
    const labels = { model: 'exp', arm: arm!, target: arm! };
    const counted = () =>
      Promise.all([
        metric(stack.gatewayUrl, 'parley_feedback_total', { ...labels, rating: 'up' }),
        metric(stack.gatewayUrl, 'parley_feedback_total', { ...labels, rating: 'down' }),
        metric(stack.gatewayUrl, 'parley_feedback_retracted_total', { ...labels, rating: 'up' }),
      ]);
    const before = await counted();
    await rate(id, turnId, 'up');
    await rate(id, turnId, 'down');
    await rate(id, turnId, 'down');
    const after = await counted();
    // One up given, then moved to down; the repeated down counts nothing.
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1]);

    const list = (await (await stack.fetch(`/v1/conversations/${id}/feedback`)).json()) as FeedbackList;
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({
      object: 'feedback',
      turnId,
      conversationId: id,
      rating: 'down',
      model: 'exp',
      arm,
      target: arm,
      project: 'default',
    });
    expect(list.data[0]!.updatedAt).toBeDefined();

    const from = new Date(Date.now() - 60_000).toISOString();
    const byProject = (await (await admin(`/feedback?project=default&from=${from}`)).json()) as FeedbackList;
    expect(byProject.data.map((f) => f.turnId)).toContain(turnId);
    const other = (await (await admin(`/feedback?project=elsewhere&from=${from}`)).json()) as FeedbackList;
    expect(other.data).toEqual([]);
    const bad = await admin('/feedback?from=yesterday');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect((await stack.fetch(`/v1/admin/feedback`)).status).toBe(403);
  });

  it('experiments - two arms with scripted ratings give the expected intervals, verdict and cost', async () => {
    const from = new Date().toISOString();
    const script = { a: { up: 16, down: 4 }, b: { up: 6, down: 14 } };
    const rated = { a: 0, b: 0 };
    const cost = { a: 0, b: 0 };
    for (let attempt = 0; attempt < 200 && (rated.a < 20 || rated.b < 20); attempt++) {
      const id = await conversation('exp');
      const done = (await say(id)) as DoneEvent & { turnId: string };
      const arm = done.arm as 'a' | 'b';
      cost[arm] += costOf(done.usage, PRICES[arm]);
      if (rated[arm] >= 20) continue;
      await rate(id, done.turnId, rated[arm] < script[arm].up ? 'up' : 'down');
      rated[arm] += 1;
    }
    expect(rated).toEqual({ a: 20, b: 20 });
    const report = await eventually('every scripted turn in the report', async () => {
      const body = (await (await admin(`/experiments/exp?from=${from}`)).json()) as ExperimentReport;
      const ratings = body.arms.map((a) => a.ratings.up + a.ratings.down);
      return ratings.length === 2 && ratings.every((n) => n === 20) ? body : undefined;
    });
    const [a, b] = report.arms;
    expect(a).toMatchObject({ arm: 'a', ratings: { up: 16, down: 4 }, errorRate: 0, fallbackRate: 0 });
    expect(b).toMatchObject({ arm: 'b', ratings: { up: 6, down: 14 } });
    expect(a!.ratings.upRate.rate).toBe(0.8);
    expect(a!.ratings.upRate.low).toBeCloseTo(0.584, 3);
    expect(a!.ratings.upRate.high).toBeCloseTo(0.9193, 3);
    expect(b!.ratings.upRate.low).toBeCloseTo(0.1455, 3);
    expect(b!.ratings.upRate.high).toBeCloseTo(0.519, 3);
    expect(report.comparisons).toHaveLength(1);
    const [verdict] = report.comparisons;
    expect(verdict).toMatchObject({
      arms: ['a', 'b'],
      test: 'two-proportion z-test (pooled, two-sided)',
      significant: true,
    });
    expect(verdict!.z).toBeCloseTo(3.178, 2);
    expect(verdict!.pValue).toBeCloseTo(0.00148, 4);
    // Cost from each target's price table, as the replies' usage says.
    expect(a!.costUsd.total).toBeCloseTo(cost.a, 9);
    expect(b!.costUsd.total).toBeCloseTo(cost.b, 9);
    expect(a!.conversations).toBeGreaterThanOrEqual(20);
    expect(a!.timeToFirstTokenMs.p50).toEqual(expect.any(Number));
    expect(a!.replyChars.mean).toBeGreaterThan(0);
    expect(a!.tokens.perTurn).toBeGreaterThan(0);

    const usage = (await (await admin(`/usage?groupBy=target&from=${from}`)).json()) as UsageReport;
    const byTarget = Object.fromEntries(usage.data.map((row) => [row.group, row.cost_usd]));
    expect(byTarget.a).toBeCloseTo(a!.costUsd.total, 9);
    expect(byTarget.b).toBeCloseTo(b!.costUsd.total, 9);
    const counted = await metric(stack.opsUrl('responder'), 'parley_cost_total', {
      project: 'default',
      model: 'exp',
      target: 'b',
    });
    expect(counted).toBeGreaterThanOrEqual(b!.costUsd.total - 1e-12);
  });

  it('experiments - a report for an alias that is not one is a 400 naming it', async () => {
    const res = await admin('/experiments/not%20an%20alias');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('alias'),
    });
    expect((await admin('/experiments/exp?to=never')).status).toBe(400);
  });

  it('experiments - a shadowed turn streams and stores only the real reply; the candidate reply is kept beside it', async () => {
    await stack.configureSim({ replyText: 'The real answer.' }, 0);
    await stack.configureSim({ replyText: 'The candidate answer.' }, 1);
    const id = await conversation('shadowed');
    const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hello' } });
    const events = await collectSse(res);
    const done = JSON.parse(events.at(-1)!.data) as DoneEvent & { turnId: string };
    const streamed = events
      .filter((e) => e.event === 'delta')
      .map((e) => (JSON.parse(e.data) as { text: string }).text);
    expect(streamed.join('')).toBe('The real answer.');
    expect(done).toMatchObject({ arm: 'a', target: 'a' });
    expect(events.map((e) => e.data).join('')).not.toContain('candidate');

    const nc = await connect({ servers: stack.nats.url });
    try {
      const bucket = await new Kvm(nc).open('parley_shadow');
      const reply = await eventually('the shadow reply', async () => {
        const entry = await bucket.get(`${id}.${done.turnId}`);
        return entry?.operation === 'PUT' ? (entry.json() as ShadowReply) : undefined;
      });
      expect(reply).toMatchObject({
        conversationId: id,
        turnId: done.turnId,
        model: 'shadowed',
        arm: 'a',
        target: 'b',
      });
      expect(reply.text).toBe('The candidate answer.');
      expect(reply.usage?.completion_tokens).toBeGreaterThan(0);
      // Not in the visible history, and erased with the conversation.
      const history = await messages(id);
      expect(history.map((m) => m.content).join(' ')).not.toContain('candidate');
      expect((await stack.fetch(`/v1/conversations/${id}`, { method: 'DELETE' })).status).toBe(200);
      // A purged key reads as its purge marker: the reply's content is gone.
      const erased = await bucket.get(`${id}.${done.turnId}`);
      expect(erased?.operation).toBe('PURGE');
      expect(erased?.value.length).toBe(0);
    } finally {
      await nc.close();
    }
  });
});
