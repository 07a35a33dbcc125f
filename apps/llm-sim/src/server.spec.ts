import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatBody, type ChunkShape, postChat, putConfig, readSseData } from '../test/helpers.js';
import type { SimKnobs } from './config.js';
import { startLlmSim, type LlmSim } from './server.js';

const KNOBS: SimKnobs = {
  model: 'sim-model',
  ttftMs: 1,
  interTokenMs: 1,
  tokens: 8,
  burst: 1,
  seed: 42,
  replyText: null,
  embeddingDimensions: 8,
  fault: null,
};
const messages = [{ role: 'user' as const, content: 'Where is my order?' }];

describe('llm-sim server', () => {
  let sim: LlmSim;
  let openai: OpenAI;

  beforeAll(async () => {
    sim = await startLlmSim({ port: 0, ...KNOBS });
    openai = new OpenAI({ baseURL: sim.openaiBaseUrl, apiKey: 'sk-test-secret', maxRetries: 0 });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.configure(KNOBS);
    sim.clearRequests();
  });

  it('llm-sim - listens on an ephemeral port when asked for port 0', () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
  });

  it('llm-sim - streams chunks in OpenAI format ending with [DONE]', async () => {
    const response = await postChat(sim, chatBody({ stream: true, stream_options: { include_usage: true } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const data = await readSseData(response);

    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as ChunkShape);
    const [first, ...rest] = chunks;
    const usage = rest.pop();
    const finish = rest.pop();
    for (const c of chunks) {
      expect(c).toMatchObject({ id: first?.id, object: 'chat.completion.chunk', model: 'sim-model' });
    }
    expect(first?.choices).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);
    expect(rest).toHaveLength(KNOBS.tokens);
    for (const c of rest) {
      expect(c.choices).toEqual([
        { index: 0, delta: { content: expect.any(String) }, logprobs: null, finish_reason: null },
      ]);
      expect(c.choices[0]?.delta.content).toMatch(/^\S+ $/);
    }
    expect(finish?.choices).toEqual([
      { index: 0, delta: {}, logprobs: null, finish_reason: 'stop', stop_reason: null },
    ]);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 });
  });

  it('llm-sim - omits the usage chunk without include_usage', async () => {
    const data = await readSseData(await postChat(sim, chatBody({ stream: true })));
    const last = JSON.parse(data.at(-2) ?? '') as ChunkShape;
    expect(last.choices[0]?.finish_reason).toBe('stop');
    expect(data.some((d) => d.includes('"usage"'))).toBe(false);
  });

  it('llm-sim - the openai client streams the same reply it gets without streaming', async () => {
    const stream = await openai.chat.completions.create({
      model: 'sim-model',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const part of stream) {
      streamed += part.choices[0]?.delta.content ?? '';
      usage = part.usage ?? usage;
    }
    const whole = await openai.chat.completions.create({ model: 'sim-model', messages });

    expect(streamed.split(' ')).toHaveLength(KNOBS.tokens + 1);
    expect(whole.object).toBe('chat.completion');
    expect(whole.choices[0]?.message).toMatchObject({ role: 'assistant', content: streamed });
    expect(whole.choices[0]?.finish_reason).toBe('stop');
    expect(whole.usage).toEqual({ prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 });
    expect(usage).toEqual(whole.usage);
  });

  it('llm-sim - replies are deterministic for equal seed and messages and differ otherwise', async () => {
    const reply = async (content: string): Promise<string | null | undefined> =>
      (await openai.chat.completions.create({ model: 'sim-model', messages: [{ role: 'user', content }] })).choices[0]
        ?.message.content;

    const first = await reply('hello');
    expect(await reply('hello')).toBe(first);
    expect(await reply('hello there')).not.toBe(first);
    sim.configure({ seed: 7 });
    const otherSeed = await reply('hello');
    expect(otherSeed).not.toBe(first);
    const restarted = await startLlmSim({ port: 0, ...KNOBS, seed: 7 });
    try {
      const fresh = new OpenAI({ baseURL: restarted.openaiBaseUrl, apiKey: 'x', maxRetries: 0 });
      const again = await fresh.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
      expect(again.choices[0]?.message.content).toBe(otherSeed);
    } finally {
      await restarted.close();
    }
  });

  it('llm-sim - max_tokens cuts the reply with finish_reason length', async () => {
    const whole = await openai.chat.completions.create({ model: 'sim-model', messages, max_tokens: 3 });
    expect(whole.choices[0]?.finish_reason).toBe('length');
    expect(whole.usage?.completion_tokens).toBe(3);

    const data = await readSseData(await postChat(sim, chatBody({ stream: true, max_completion_tokens: 2 })));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as ChunkShape);
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(2);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
  });

  it('llm-sim - burst sends that many tokens per chunk on the inter-token timeline', async () => {
    const words = Array.from({ length: 25 }, (_, i) => `w${i}`);
    sim.configure({ replyText: words.join(' '), burst: 10, ttftMs: 1, interTokenMs: 2 });
    const started = performance.now();
    const data = await readSseData(await postChat(sim, chatBody({ stream: true })));
    const elapsed = performance.now() - started;

    const contents = data
      .slice(0, -1)
      .map((d) => (JSON.parse(d) as ChunkShape).choices[0]?.delta.content)
      .filter((c) => c !== undefined && c !== '');
    expect(contents).toEqual([
      `${words.slice(0, 10).join(' ')} `,
      `${words.slice(10, 20).join(' ')} `,
      words.slice(20).join(' '),
    ]);
    // The 25th token is ready after the time to first token plus 24 inter-token delays; allow 1 ms of timer rounding.
    expect(elapsed).toBeGreaterThanOrEqual(1 + 24 * 2 - 1);
  });

  it('llm-sim - a configured replyText is sent verbatim, split at whitespace', async () => {
    const replyText = '## Order\n\n<p>Your <b>parcel</b> ships   today.</p>\n- item one\n';
    sim.configure({ replyText });
    const data = await readSseData(await postChat(sim, chatBody({ stream: true })));
    const contents = data.slice(1, -2).map((d) => (JSON.parse(d) as ChunkShape).choices[0]?.delta.content);
    expect(contents).toEqual([
      '## ',
      'Order\n\n',
      '<p>Your ',
      '<b>parcel</b> ',
      'ships   ',
      'today.</p>\n',
      '- ',
      'item ',
      'one\n',
    ]);

    const whole = await openai.chat.completions.create({ model: 'sim-model', messages });
    expect(whole.choices[0]?.message.content).toBe(replyText);
    expect(whole.usage?.completion_tokens).toBe(9);
  });

  it('llm-sim - /health answers 200 with an empty body and /v1/models lists the model', async () => {
    const health = await fetch(`${sim.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');

    const models = await openai.models.list();
    expect(models.data.map((m) => [m.id, m.object])).toEqual([['sim-model', 'model']]);
  });

  it('llm-sim - an invalid chat body gets 400 in OpenAI error shape', async () => {
    const error = await openai.chat.completions.create({ model: 'sim-model', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');

    const response = await postChat(sim, '{"model":');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.stringContaining('JSON'), type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('llm-sim - unknown routes get 404 and wrong methods 405', async () => {
    expect((await fetch(`${sim.url}/v1/nope`)).status).toBe(404);
    const wrongMethod = await fetch(`${sim.openaiBaseUrl}/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('llm-sim - records requests with trace headers but never the authorization secret', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await openai.chat.completions.create(
      { model: 'sim-model', messages },
      { headers: { traceparent, 'x-parley-conversation-id': 'conv-1' } },
    );
    await postChat(sim, chatBody());

    const listed = (await (await fetch(`${sim.url}/sim/requests`)).json()) as { requests: unknown[] };
    expect(listed.requests).toEqual([
      expect.objectContaining({
        path: '/v1/chat/completions',
        body: { model: 'sim-model', messages },
        headers: { traceparent, 'x-parley-conversation-id': 'conv-1', authorization: true },
        status: 'completed',
        aborted: false,
        httpStatus: 200,
      }),
      expect.objectContaining({ headers: { authorization: false }, status: 'completed' }),
    ]);
    expect(JSON.stringify(listed)).not.toContain('sk-test-secret');

    expect((await fetch(`${sim.url}/sim/requests`, { method: 'DELETE' })).status).toBe(204);
    expect(sim.requests()).toEqual([]);
  });

  it('llm-sim - GET and PUT /sim/config change the knobs at runtime', async () => {
    expect(await (await fetch(`${sim.url}/sim/config`)).json()).toEqual(KNOBS);
    const updated = await putConfig(sim, { tokens: 3, replyText: null, fault: { kind: 'stall', afterTokens: 1 } });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual({ ...KNOBS, tokens: 3, fault: { kind: 'stall', afterTokens: 1 } });
    expect((await putConfig(sim, { fault: null })).status).toBe(200);
    expect(sim.config()).toEqual({ ...KNOBS, tokens: 3 });
  });

  it.each([
    ['a zero burst', { burst: 0 }, 'burst'],
    ['an unknown knob', { ttft: 5 }, null],
    ['an unsupported fault status', { fault: { kind: 'status', status: 404 } }, 'fault.status'],
    ['a negative delay', { interTokenMs: -1 }, 'interTokenMs'],
  ])('llm-sim - PUT /sim/config rejects %s with 400', async (_name, body, param) => {
    const response = await putConfig(sim, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code: expect.any(String) },
    });
    expect(sim.config()).toEqual(KNOBS);
  });

  it('llm-sim - PUT /sim/config rejects a body that is not JSON with 400', async () => {
    expect((await putConfig(sim, 'burst=2')).status).toBe(400);
    expect(() => sim.configure({ tokens: -1 })).toThrow(/tokens/);
  });

  it('llm-sim - GET /metrics serves the vLLM gauges and time-to-first-token histogram, labelled with the served model', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`${sim.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{model_name="sim-model"}`));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    sim.configure({ ttftMs: 1, interTokenMs: 50, tokens: 40 });
    const before = (await metric('vllm:time_to_first_token_seconds_count')) ?? 0;
    const streaming = await postChat(sim, chatBody({ stream: true, model: 'any-name-the-client-sends' }));
    const reader = streaming.body!.getReader();
    await reader.read();
    expect(await metric('vllm:num_requests_running')).toBe(1);
    expect(await metric('vllm:kv_cache_usage_perc')).toBeCloseTo(1 / 256);
    expect(await metric('vllm:num_requests_waiting')).toBe(0);
    await reader.cancel();
    await expect.poll(() => metric('vllm:num_requests_running')).toBe(0);
    expect(await metric('vllm:time_to_first_token_seconds_count')).toBe(before + 1);
  });
});
