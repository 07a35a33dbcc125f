import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, MODEL, Stack, eventually } from './stack.js';

const REPLY = 'Hello from the simulator, streamed token by token.';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({ sim: { replyText: REPLY } });
});
afterAll(() => stack?.stop());

describe('chat completions', () => {
  it('chat - the official openai client streams a reply token by token', async () => {
    // Tokens far enough apart that each must reach the client on its own (nothing waits to batch them).
    await stack.configureSim({ interTokenMs: 25 });
    try {
      const stream = await stack.openai().chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      let finish: string | null = null;
      let usage: unknown;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        const choice = chunk.choices[0];
        if (choice?.delta.content) deltas.push(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      // llm-sim's tokens, streamed as they come: one chunk each, except that tokens arriving while the previous
      // frame is still being published travel together (the responder's batching on a loaded machine).
      expect(deltas.join('')).toBe(REPLY);
      expect(deltas.length).toBeGreaterThan(REPLY.match(/\S+\s*/g)!.length / 2);
      for (const delta of deltas) expect(delta).toMatch(/^(\S+\s*)+$/);
      expect(finish).toBe('stop');
      expect(usage).toMatchObject({ completion_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    } finally {
      await stack.configureSim({ interTokenMs: 2 });
    }
  });

  it('chat - tokens that arrive together go out together, complete and in order', async () => {
    // llm-sim writes the whole reply at once: the responder gets the chunks together and sends fewer frames.
    const tokens = REPLY.match(/\S+\s*/g)!;
    await stack.configureSim({ burst: tokens.length });
    try {
      const stream = await stack.openai().chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      const deltas: string[] = [];
      for await (const chunk of stream)
        if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
      expect(deltas.join('')).toBe(REPLY);
      expect(deltas.length).toBeLessThan(tokens.length);
    } finally {
      await stack.configureSim({ burst: 1 });
    }
  });

  it('chat - the official openai client gets a whole completion without streaming', async () => {
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: REPLY });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('chat - max_tokens ends the reply with finish_reason length', async () => {
    const completion = await stack.openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(completion.choices[0]?.finish_reason).toBe('length');
  });

  it('chat - the caller trace id reaches the upstream in traceparent', async () => {
    await stack.clearSimRequests();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await stack.fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      json: { model: MODEL, messages: [{ role: 'user', content: 'trace me' }] },
    });
    expect(res.status).toBe(200);
    const [record] = await stack.simRequests();
    expect(record?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(record?.headers.traceparent).not.toContain('00f067aa0ba902b7');
  });

  it('chat - a client that goes away makes the upstream request abort', async () => {
    await stack.configureSim({ interTokenMs: 50, tokens: 200, replyText: null });
    await stack.clearSimRequests();
    try {
      const stream = await stack.openai().chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'a long answer please' }],
        stream: true,
      });
      let received = 0;
      // Leaving the loop early makes the SDK abort its HTTP request.
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received += 1;
        if (received === 2) break;
      }
      expect(received).toBe(2);
      const aborted = await eventually('llm-sim to see the abort', async () => {
        const [record] = await stack.simRequests();
        return record?.aborted ? record : undefined;
      });
      expect(aborted.status).toBe('aborted');
    } finally {
      await stack.configureSim({ interTokenMs: 2, tokens: 12, replyText: REPLY });
    }
  });

  it('metrics - every turn’s outcome is counted, a failed one by its code, and the client’s time to first token', async () => {
    /** The value of the sample of `name` whose labels include every one of `labels`, in any order. */
    const metric = async (name: string, labels: Record<string, string>) => {
      const text = await (await stack.fetch('/metrics', { key: null })).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const turn = { route: 'chat_completions', model: MODEL };
    const done = () => metric('parley_turns_total', { ...turn, outcome: 'done' });
    const failed = () => metric('parley_turns_total', { ...turn, outcome: 'upstream_error' });
    const ttft = () => metric('parley_gateway_time_to_first_token_seconds_count', turn);
    const [doneBefore, failedBefore, ttftBefore] = [await done(), await failed(), await ttft()];
    await stack.openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    await stack.configureSim({ fault: { kind: 'status', status: 500 } });
    try {
      const res = await stack.fetch('/v1/chat/completions', {
        method: 'POST',
        json: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Hi' }] },
      });
      expect(res.status).toBe(502);
    } finally {
      await stack.configureSim({ fault: null });
    }
    expect(await done()).toBe(doneBefore + 1);
    expect(await failed()).toBe(failedBefore + 1);
    // The failed turn sent no token: only the first one is timed.
    expect(await ttft()).toBe(ttftBefore + 1);
  });

  it('models - lists the configured alias in OpenAI format', async () => {
    const models = await stack.openai().models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'parley' });
  });

  it('health - healthz and readyz answer without a key', async () => {
    expect((await stack.fetch('/healthz', { key: null })).status).toBe(200);
    const ready = await stack.fetch('/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { nats: true, redis: true, responder: true, inference: true },
    });
  });

  it('health - responder and inference serve healthz, readyz and metrics on their operations port', async () => {
    for (const app of ['responder', 'inference'] as const) {
      const base = stack.opsUrl(app);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { nats: true } });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain(`parley_process_cpu_user_seconds_total{service="${app}"}`);
    }
  });

  it('auth - every /v1 route needs a valid key, and keys never appear in logs', async () => {
    for (const key of [null, 'pk-wrong']) {
      const res = await stack.fetch('/v1/models', { key });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const logs = ['gateway', 'responder', 'inference'].flatMap((app) => stack.services.get(app as 'gateway')!.logs());
    expect(logs.join('\n')).not.toContain(API_KEY);
  });
});
