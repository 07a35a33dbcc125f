import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Stack, collectSse, eventually } from './stack.js';

const SORRY = 'Our assistant is unavailable right now; an agent will get back to you.';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    sims: 2,
    routing: ([a, b]) => `targets:
  a: { provider: openai-compatible, baseUrl: "${a}", model: model-a }
  b: { provider: openai-compatible, baseUrl: "${b}", model: model-b }
  sorry: { provider: static, reply: "${SORRY}" }
models:
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
    expect(models.data.map((m) => m.id).sort()).toEqual(['only-a', 'support']);
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

  it('routing - a refused connection and a 429 fall back too; the static reply is the last resort', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 1 } }, 0);
    await stack.configureSim({ fault: { kind: 'status', status: 503 } }, 1);
    const id = await conversation('support');
    expect(await say(id)).toBe(SORRY);
  });

  it('routing - a stream cut after tokens ends with a retryable error, not a fallback', async () => {
    await stack.configureSim({ fault: { kind: 'cut', afterTokens: 3 } }, 0);
    const id = await conversation('only-a');
    const events = await collectSse(
      await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } }),
    );
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { code: 'upstream_error', retryable: true } });
    expect(await stack.simRequests(1)).toHaveLength(0);
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
