import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GenerationParamsSchema, ParleyError, newId } from '@parley/contracts';
import { collect } from '@parley/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  OpenAICompatibleProvider,
  defaultMaxTokensField,
  defaultTransport,
  type OpenAITransport,
} from './openai-compatible.provider.js';
import type { ProviderEvent } from './provider.js';
import { EVERY_PARAM, input, useLlmSim } from './provider.test-kit.js';

const SECRET = 'sk-upstream-secret-123';
const sim = useLlmSim();

it('provider - the SDK transport is the default for api.openai.com, the lean one for any other server', () => {
  expect(defaultTransport('https://api.openai.com/v1')).toBe('sdk');
  expect(defaultTransport('http://vllm:8000/v1')).toBe('http');
  expect(defaultTransport('https://openai.example.com/v1')).toBe('http');
});

it('provider - OpenAI reasoning models get max_completion_tokens, every other model max_tokens', () => {
  for (const model of ['o1', 'o3-mini', 'o4-mini-2025-04-16', 'gpt-5', 'gpt-5.1-chat', 'openai/o3']) {
    expect(defaultMaxTokensField(model), model).toBe('max_completion_tokens');
  }
  for (const model of ['gpt-4o-mini', 'gpt-4.1', 'meta-llama/Llama-3.1-8B-Instruct', 'olmo-2', 'gpt-50x']) {
    expect(defaultMaxTokensField(model), model).toBe('max_tokens');
  }
});

it('provider - the lean transport streams one request after another on one kept-alive connection', async () => {
  await sim.client.configure({ fault: null, replyText: 'one two', interTokenMs: 1 });
  await sim.client.clearRequests();
  const provider = new OpenAICompatibleProvider({ baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 });
  expect(provider.transport).toBe('http');
  for (let i = 0; i < 5; i++) {
    expect((await collect(provider.stream(input()))).at(-1)).toMatchObject({ type: 'end', finishReason: 'stop' });
  }
  const records = await sim.client.requests();
  expect(records).toHaveLength(5);
  expect(new Set(records.map((r) => r.connection)).size).toBe(1);
});

it('provider - the lean transport sends once more on a new connection when a reused one is dropped unanswered', async () => {
  await sim.client.configure({ fault: null, replyText: 'one two', interTokenMs: 1 });
  await sim.client.clearRequests();
  const provider = new OpenAICompatibleProvider({ baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 });
  const text = async () =>
    (await collect(provider.stream(input()))).flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
  expect(await text()).toBe('one two');
  // The kept-alive connection is closed as the next request arrives on it, as a server closing an idle
  // connection would: that request goes again, once, on a new connection.
  await sim.client.configure({ fault: { kind: 'drop', times: 1 } });
  expect(await text()).toBe('one two');
  const records = await sim.client.requests();
  expect(records.map((r) => [r.connection, r.fault])).toEqual([
    [records[0]!.connection, null],
    [records[0]!.connection, 'drop'],
    [records[2]!.connection, null],
  ]);
  expect(records[2]!.connection).not.toBe(records[0]!.connection);

  // Only once: when the new connection is dropped too, the request fails; and a request on a new connection
  // is never sent again (nothing says the server did not act on it).
  await sim.client.clearRequests();
  await sim.client.configure({ fault: { kind: 'drop', times: 2 } });
  await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
  expect((await sim.client.requests()).map((r) => r.fault)).toEqual(['drop', 'drop']);
  await sim.client.clearRequests();
  await sim.client.configure({ fault: { kind: 'drop', times: 1 } });
  await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
  expect((await sim.client.requests()).map((r) => r.fault)).toEqual(['drop']);
  await sim.client.configure({ fault: null });
});

it('provider - the lean transport goes through HTTP_PROXY when NODE_USE_ENV_PROXY=1, as fetch does', async () => {
  await sim.client.configure({ fault: null, replyText: 'via the proxy', interTokenMs: 1 });
  // A forward proxy: requests in absolute form, relayed to where they point.
  const proxied: string[] = [];
  const proxy = createServer((req, res) => {
    proxied.push(`${req.method} ${req.url}`);
    const upstream = httpRequest(req.url!, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const saved = { NODE_USE_ENV_PROXY: process.env.NODE_USE_ENV_PROXY, HTTP_PROXY: process.env.HTTP_PROXY };
  process.env.NODE_USE_ENV_PROXY = '1';
  process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  try {
    const provider = new OpenAICompatibleProvider({ baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 });
    const events = await collect(provider.stream(input()));
    expect(events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe('via the proxy');
    expect(proxied).toEqual([`POST ${sim.url}/v1/chat/completions`]);
  } finally {
    Object.assign(process.env, saved);
    for (const [name, value] of Object.entries(saved)) if (value === undefined) delete process.env[name];
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

it('provider - the lean transport refuses an event too large to hold, after the events before it', async () => {
  await sim.client.configure({ fault: null, replyText: `small ${'x'.repeat(1_100_000)}`, interTokenMs: 1 });
  const provider = new OpenAICompatibleProvider({ baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 });
  const events: ProviderEvent[] = [];
  const failure = await (async () => {
    for await (const event of provider.stream(input())) events.push(event);
  })().catch((e: unknown) => e);
  expect(failure).toMatchObject({ code: 'upstream_error', message: expect.stringContaining('characters') });
  expect(events).toEqual([{ type: 'delta', text: 'small ' }]);
});

// Both transports keep the same contract: the same events, error codes and cancellation.
describe.each<OpenAITransport>(['http', 'sdk'])('openai-compatible provider over %s', (transport) => {
  let provider: OpenAICompatibleProvider;

  beforeEach(async () => {
    provider = new OpenAICompatibleProvider({
      baseUrl: `${sim.url}/v1`,
      apiKey: SECRET,
      requestTimeoutMs: 5_000,
      transport,
    });
    await sim.client.configure({ fault: null, replyText: 'one two three four', interTokenMs: 1 });
    await sim.client.clearRequests();
  });

  it('provider - streams deltas in order, then one end with the finish reason and usage', async () => {
    const events = await collect(provider.stream(input()));
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    expect(text).toBe('one two three four');
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'end', finishReason: 'stop', usage: { completion_tokens: 4 } });
  });

  it('provider - max_tokens ends with finish reason length', async () => {
    const events = await collect(provider.stream(input({ params: { max_tokens: 2 } })));
    expect(events.at(-1)).toMatchObject({ type: 'end', finishReason: 'length' });
  });

  it('provider - every sampling parameter reaches the upstream under its own name', async () => {
    expect(Object.keys(EVERY_PARAM).sort()).toEqual(Object.keys(GenerationParamsSchema.shape).sort());
    await collect(provider.stream(input({ params: EVERY_PARAM })));
    const [record] = await sim.client.requests();
    expect(record?.body).toMatchObject({ ...EVERY_PARAM, model: 'sim-model', stream: true });
  });

  it('provider - upstream 429 becomes rate_limited with Retry-After', async () => {
    await sim.client.configure({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 7,
    });
  });

  it('provider - upstream 500 and a cut stream become upstream_error', async () => {
    await sim.client.configure({ fault: { kind: 'status', status: 500 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
    await sim.client.configure({ fault: { kind: 'cut', afterTokens: 2 } });
    await expect(collect(provider.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it('provider - an error event in the stream (vLLM on a failed generation) becomes upstream_error', async () => {
    await sim.client.configure({ fault: { kind: 'error', afterTokens: 2 } });
    const events: ProviderEvent[] = [];
    const failure = await (async () => {
      for await (const event of provider.stream(input())) events.push(event);
    })().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'upstream_error' });
    expect(events.map((e) => e.type)).toEqual(['delta', 'delta']);
  });

  it('provider - an unreachable upstream is upstream_error and never echoes the key', async () => {
    const dead = new OpenAICompatibleProvider({
      baseUrl: 'http://127.0.0.1:1/v1',
      apiKey: SECRET,
      requestTimeoutMs: 2_000,
      transport,
    });
    const error = await collect(dead.stream(input())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyError);
    expect((error as ParleyError).code).toBe('upstream_error');
    expect(JSON.stringify({ message: (error as Error).message, info: (error as ParleyError).toInfo() })).not.toContain(
      SECRET,
    );
  });

  it('provider - aborting stops the iteration quietly and aborts the upstream request', async () => {
    await sim.client.configure({ replyText: null, tokens: 500, interTokenMs: 20 });
    const controller = new AbortController();
    const events: ProviderEvent[] = [];
    for await (const event of provider.stream(input({ signal: controller.signal }))) {
      events.push(event);
      if (events.length === 2) controller.abort();
    }
    expect(events.every((e) => e.type === 'delta')).toBe(true);
    const deadline = Date.now() + 5_000;
    let aborted = false;
    while (!aborted && Date.now() < deadline) {
      aborted = (await sim.client.requests())[0]?.aborted === true;
      if (!aborted) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(aborted).toBe(true);
  });

  it('provider - an upstream that never answers is upstream_error after the request timeout, and is left', async () => {
    await sim.client.configure({ fault: { kind: 'hang' } });
    const impatient = new OpenAICompatibleProvider({
      baseUrl: `${sim.url}/v1`,
      apiKey: SECRET,
      requestTimeoutMs: 300,
      transport,
    });
    await expect(collect(impatient.stream(input()))).rejects.toMatchObject({ code: 'upstream_error' });
    await vi.waitFor(async () => expect((await sim.client.requests())[0]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it('provider - trace context and conversation id reach the upstream', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const conversationId = newId('conversation');
    await collect(provider.stream(input({ traceparent, conversationId })));
    const [record] = await sim.client.requests();
    expect(record?.headers).toMatchObject({
      traceparent,
      'x-parley-conversation-id': conversationId,
      authorization: true,
    });
  });
});
