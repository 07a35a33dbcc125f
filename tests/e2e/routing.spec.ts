import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Stack, collectSse, eventually } from './stack.js';

const SORRY = 'Our assistant is unavailable right now; an agent will get back to you.';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    sims: 2,
    routing: ([a, b]) => `targets:
  a: { provider: openai-compatible, baseUrl: "${a}", model: model-a }
  b: { provider: openai-compatible, baseUrl: "${b}", model: model-b }
  c: { provider: openai-compatible, baseUrl: "${b}", model: model-c, retries: 0, breaker: { failureRatio: 0.9, window: 3, minimumCalls: 3, cooldownMs: 1000 } }
  d: { provider: openai-compatible, baseUrl: "${a}", model: model-d, maxConcurrency: 1, maxQueue: 0 }
  q: { provider: openai-compatible, baseUrl: "${a}", model: model-q, maxConcurrency: 1, maxQueue: 1 }
  e: { provider: openai-compatible, baseUrl: "${a}", model: model-e, retries: 0, firstTokenTimeoutMs: 500 }
  f: { provider: openai-compatible, baseUrl: "${a}", model: model-f }
  hf: { provider: huggingface, endpointUrl: "${b.replace(/\/v1$/, '')}", model: model-hf, sessionHeader: x-session-id }
  dead: { provider: openai-compatible, baseUrl: "http://127.0.0.1:1/v1", model: model-dead, retries: 0 }
  sorry: { provider: static, reply: "${SORRY}" }
models:
  hf-model:
    split: [{ target: hf }]
  dead-first:
    split: [{ target: dead }]
    fallbacks: [b]
  brittle:
    split: [{ target: c }]
    fallbacks: [sorry]
  tiny:
    split: [{ target: d }]
  queued:
    split: [{ target: q }]
  stalls:
    split: [{ target: e }]
    fallbacks: [b]
  cuts:
    split: [{ target: f }]
    fallbacks: [b]
  support:
    split: [{ target: a, weight: 50 }, { target: b, weight: 50 }]
    fallbacks: [sorry]
  only-a:
    split: [{ target: a }]
    fallbacks: [b]
`,
  });
});
afterAll(() => stack?.stop());
beforeEach(async () => {
  for (const sim of [0, 1]) {
    await stack.configureSim({ fault: null }, sim);
    await stack.clearSimRequests(sim);
  }
});

async function conversation(model: string): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: { model } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function say(id: string, content = 'hi'): Promise<string> {
  const events = await collectSse(
    await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content } }),
  );
  expect(events.at(-1)?.event).toBe('done');
  return events
    .filter((e) => e.event === 'delta')
    .map((e) => (JSON.parse(e.data) as { text: string }).text)
    .join('');
}

const servedBy = async () => [(await stack.simRequests(0)).length, (await stack.simRequests(1)).length];

describe('routing', () => {
  it('routing - the models of the routing file are listed', async () => {
    const models = await stack.openai().models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual([
      'brittle',
      'cuts',
      'dead-first',
      'hf-model',
      'only-a',
      'queued',
      'stalls',
      'support',
      'tiny',
    ]);
  });

  it('routing - a split spreads conversations over both targets and each conversation sticks', async () => {
    const homes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await conversation('support');
      const before = await servedBy();
      await say(id);
      await say(id);
      const after = await servedBy();
      const delta = [after[0]! - before[0]!, after[1]! - before[1]!];
      expect(delta.sort()).toEqual([0, 2]);
      homes.push(after[0]! > before[0]! ? 0 : 1);
    }
    expect(new Set(homes).size).toBe(2);
  });

  it('routing - a 500 before the first token falls back to the next target', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 500 } }, 0);
    const id = await conversation('only-a');
    expect((await say(id)).length).toBeGreaterThan(0);
    expect((await stack.simRequests(0))[0]?.status).toBe('faulted');
    expect(await stack.simRequests(1)).toHaveLength(1);
  });

  it('routing - a Hugging Face target streams through its endpoint URL', async () => {
    const id = await conversation('hf-model');
    expect((await say(id)).length).toBeGreaterThan(0);
    const [request] = await stack.simRequests(1);
    expect(request?.body?.model).toBe('model-hf');
    // The session header is configurable: this target sends x-session-id instead of the default.
    expect(request?.headers['x-parley-conversation-id']).toBeUndefined();
  });

  it('routing - a refused connection falls back to the next target', async () => {
    const id = await conversation('dead-first');
    expect((await say(id)).length).toBeGreaterThan(0);
    expect(await stack.simRequests(1)).toHaveLength(1);
  });

  it('routing - a 429 and a 503 fall back too; the static reply is the last resort', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 1 } }, 0);
    await stack.configureSim({ fault: { kind: 'status', status: 503 } }, 1);
    const id = await conversation('support');
    expect(await say(id)).toBe(SORRY);
  });

  it('routing - a stream cut after tokens ends with a retryable error, not a fallback', async () => {
    await stack.configureSim({ fault: { kind: 'cut', afterTokens: 3 } }, 0);
    const id = await conversation('cuts');
    const events = await collectSse(
      await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } }),
    );
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { code: 'upstream_error', retryable: true } });
    expect(await stack.simRequests(1)).toHaveLength(0);
  });

  it('resilience - a failure before the first token is retried on the same target', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 500, times: 1 } }, 0);
    const id = await conversation('cuts');
    expect((await say(id)).length).toBeGreaterThan(0);
    expect((await stack.simRequests(0)).map((r) => r.status)).toEqual(['faulted', 'completed']);
    expect(await stack.simRequests(1)).toHaveLength(0);
  });

  it('resilience - a 429 is retried after its Retry-After', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 1, times: 1 } }, 0);
    const id = await conversation('cuts');
    await say(id);
    const [faulted, retried] = await stack.simRequests(0);
    expect(faulted?.status).toBe('faulted');
    expect(retried!.receivedAt - faulted!.receivedAt).toBeGreaterThanOrEqual(1_000);
  });

  it('resilience - a target that stalls before the first token is skipped after its first-token timeout', async () => {
    await stack.configureSim({ fault: { kind: 'stall', afterTokens: 0 } }, 0);
    const id = await conversation('stalls');
    expect((await say(id)).length).toBeGreaterThan(0);
    expect(await stack.simRequests(1)).toHaveLength(1);
    await eventually('llm-sim to see the stalled request aborted', async () =>
      (await stack.simRequests(0))[0]?.aborted ? true : undefined,
    );
  });

  it('resilience - the breaker opens after failures, lets a probe through after the cool-down, and closes', async () => {
    const admin = async () => {
      const res = await stack.fetch('/v1/admin/targets', { key: ADMIN_KEY });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { targets: { target: string; breaker: string }[] }[] };
      expect(body.data).toHaveLength(1);
      return body.data[0]!.targets.find((t) => t.target === 'c')!.breaker;
    };
    // An ordinary key is known but lacks the admin scope; no key at all is unauthenticated.
    expect((await stack.fetch('/v1/admin/targets')).status).toBe(403);
    expect((await stack.fetch('/v1/admin/targets', { key: null })).status).toBe(401);
    expect(await admin()).toBe('closed');
    await stack.configureSim({ fault: { kind: 'status', status: 500 } }, 1);
    const id = await conversation('brittle');
    for (let i = 0; i < 3; i++) expect(await say(id)).toBe(SORRY);
    expect(await admin()).toBe('open');
    expect(await say(id)).toBe(SORRY);
    expect(await stack.simRequests(1)).toHaveLength(3);
    const metrics = await (await fetch(`${stack.opsUrl('inference')}/metrics`)).text();
    expect(metrics).toMatch(/parley_target_breaker_state\{target="c",service="inference"\} 2\b/);
    await stack.configureSim({ fault: null }, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the configured cool-down
    expect(await say(id)).not.toBe(SORRY);
    expect(await admin()).toBe('closed');
  });

  it('resilience - a full target answers 429 with Retry-After instead of queueing without bound', async () => {
    await stack.configureSim({ interTokenMs: 50, tokens: 60 }, 0);
    try {
      const controller = new AbortController();
      const first = stack
        .openai()
        .chat.completions.create(
          { model: 'tiny', messages: [{ role: 'user', content: 'long' }], stream: true },
          { signal: controller.signal },
        );
      const stream = await first;
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const second = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: 'tiny', messages: [{ role: 'user', content: 'me too' }] },
      });
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(await second.json()).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
      controller.abort();
    } finally {
      await stack.configureSim({ interTokenMs: 2, tokens: 12 }, 0);
    }
  });

  it('resilience - a turn queued behind a slow stream gets 429 at its 2 s deadline, Retry-After from the stream', async () => {
    await stack.configureSim({ interTokenMs: 100, tokens: 80 }, 0);
    const controller = new AbortController();
    try {
      const stream = await stack
        .openai()
        .chat.completions.create(
          { model: 'queued', messages: [{ role: 'user', content: 'long' }], stream: true },
          { signal: controller.signal },
        );
      await stream[Symbol.asyncIterator]().next();
      const started = performance.now();
      const queued = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: 'queued', messages: [{ role: 'user', content: 'me too' }], stream: true },
      });
      const waitedMs = performance.now() - started;
      expect(queued.status).toBe(429);
      expect(await queued.json()).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
      // The stream ahead has run over 2 s and is expected to run as long again: not the generic 1 s.
      expect(Number(queued.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
      expect(waitedMs).toBeGreaterThanOrEqual(1_900);
      expect(waitedMs).toBeLessThan(4_000);
    } finally {
      controller.abort();
      await stack.configureSim({ interTokenMs: 2, tokens: 12 }, 0);
    }
  });

  it('routing - a changed file is reloaded; a bad one is rejected and the old routes stay', async () => {
    const file = stack.routingFile!;
    const original = readFileSync(file, 'utf8');
    const inference = stack.services.get('inference')!;
    try {
      writeFileSync(file, original.replace('  only-a:', '  renamed-a:'));
      await inference.waitForLog((l) => l.msg === 'routing reloaded' && JSON.stringify(l.models).includes('renamed-a'));
      await eventually('the new model list', async () => {
        const ids = (await stack.openai().models.list()).data.map((m) => m.id);
        return ids.includes('renamed-a') ? ids : undefined;
      });
      writeFileSync(file, original.replace('fallbacks: [b]', 'fallbacks: [nobody]'));
      const rejected = await inference.waitForLog((l) => l.msg === 'routing file rejected; keeping the routes in use');
      expect(String(rejected.problem)).toMatch(/models\.yaml:\d+: models\..*fallbacks\.0: no target "nobody"/);
      const id = await conversation('renamed-a');
      expect((await say(id)).length).toBeGreaterThan(0);
    } finally {
      writeFileSync(file, original);
    }
  });
});
