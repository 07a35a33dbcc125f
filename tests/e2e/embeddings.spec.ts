// `/v1/embeddings` as OpenAI's own client sees it: single and batch inputs, base64, dimensions, a fallback when
// the first target fails, a Hugging Face (Text Embeddings Inference) target, the errors, the scope and the limits.
// Real processes over real NATS, Redis and HTTP, against llm-sim.
import type { KeyCreated, UsageReport } from '@parley/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, MODEL, Stack, eventually } from './stack.js';

let stack: Stack;
const DIMENSIONS = 16;

beforeAll(async () => {
  stack = await Stack.start({
    sim: { embeddingDimensions: DIMENSIONS },
    routing: ([sim]) => `targets:
  sim: { provider: openai-compatible, baseUrl: "${sim}", model: sim-model, retries: 0 }
  sim-backup: { provider: openai-compatible, baseUrl: "${sim}", model: sim-model, retries: 0 }
  tei: { provider: huggingface, endpointUrl: "${sim!.replace(/\/v1$/, '')}", model: sim-model, retries: 0 }
models:
  ${MODEL}: { split: [{ target: sim }] }
  embed: { kind: embedding, split: [{ target: sim }], fallbacks: [sim-backup] }
  embed-hf: { kind: embedding, split: [{ target: tei }] }
`,
  });
}, 60_000);
afterAll(() => stack?.stop());
beforeEach(async () => {
  await stack.configureSim({ fault: null });
  await stack.clearSimRequests();
});

const floats = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

describe('embeddings', () => {
  it('embeddings - single and batch inputs give one deterministic unit vector each, in order, with usage', async () => {
    const client = stack.openai();
    const single = await client.embeddings.create({ model: 'embed', input: 'Where is my order?' });
    expect(single).toMatchObject({ object: 'list', model: 'embed', usage: { prompt_tokens: 4, total_tokens: 4 } });
    expect(single.data).toHaveLength(1);
    const [vector] = single.data.map((d) => d.embedding);
    expect(vector).toHaveLength(DIMENSIONS);
    expect(Math.hypot(...vector!)).toBeCloseTo(1, 5);

    const batch = await client.embeddings.create({
      model: 'embed',
      input: ['Hello', 'Where is my order?', 'Hello'],
      encoding_format: 'float',
    });
    expect(batch.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, DIMENSIONS],
      ['embedding', 1, DIMENSIONS],
      ['embedding', 2, DIMENSIONS],
    ]);
    expect(batch.data[1]!.embedding).toEqual(vector);
    expect(batch.data[2]!.embedding).toEqual(batch.data[0]!.embedding);
    expect(batch.data[0]!.embedding).not.toEqual(vector);
    const [record] = await stack.simRequests();
    expect(record?.path).toBe('/v1/embeddings');
    expect(record?.body).toMatchObject({ model: 'sim-model', input: ['Where is my order?'] });
  });

  it('embeddings - base64 decodes to the same floats; dimensions and token arrays reach the upstream', async () => {
    const client = stack.openai();
    const asFloats = await client.embeddings.create({ model: 'embed', input: 'Hello', encoding_format: 'float' });
    const asBase64 = await client.embeddings.create({ model: 'embed', input: 'Hello', encoding_format: 'base64' });
    expect(typeof asBase64.data[0]!.embedding).toBe('string');
    expect(floats(asBase64.data[0]!.embedding as unknown as string)).toEqual(asFloats.data[0]!.embedding);

    const short = await client.embeddings.create({ model: 'embed', input: 'Hello', dimensions: 4 });
    expect(short.data[0]!.embedding).toHaveLength(4);
    const tokens = await client.embeddings.create({ model: 'embed', input: [[1, 2, 3]], encoding_format: 'float' });
    expect(tokens.usage.prompt_tokens).toBe(3);
    expect((await stack.simRequests()).slice(-2).map((r) => r.body)).toMatchObject([
      { dimensions: 4 },
      { input: [[1, 2, 3]] },
    ]);
  });

  it('embeddings - a target that fails with 500 falls back to the next', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 500, times: 1 } });
    const reply = await stack.openai().embeddings.create({ model: 'embed', input: 'Hello', encoding_format: 'float' });
    await stack.configureSim({ fault: null });
    const again = await stack.openai().embeddings.create({ model: 'embed', input: 'Hello', encoding_format: 'float' });
    expect(reply.data[0]!.embedding).toEqual(again.data[0]!.embedding);
    expect((await stack.simRequests()).map((r) => [r.path, r.fault])).toEqual([
      ['/v1/embeddings', 'status'],
      ['/v1/embeddings', null],
      ['/v1/embeddings', null],
    ]);
  });

  it('embeddings - a Hugging Face target embeds through feature extraction; token arrays are refused there', async () => {
    const client = stack.openai();
    const hf = await client.embeddings.create({ model: 'embed-hf', input: ['Hello', 'Bye'], encoding_format: 'float' });
    const openai = await client.embeddings.create({
      model: 'embed',
      input: ['Hello', 'Bye'],
      encoding_format: 'float',
    });
    expect(hf.data.map((d) => d.embedding)).toEqual(openai.data.map((d) => d.embedding));
    expect((await stack.simRequests())[0]).toMatchObject({ path: '/', body: { inputs: ['Hello', 'Bye'] } });
    await expect(client.embeddings.create({ model: 'embed-hf', input: [[1, 2]] })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
      param: 'input',
    });
  });

  it('embeddings - bad requests are 400s and 404s in OpenAI shape, naming the parameter or model', async () => {
    const client = stack.openai();
    await expect(client.embeddings.create({ model: 'embed', input: 'Hello', extra: 1 } as never)).rejects.toMatchObject(
      {
        status: 400,
        code: 'invalid_request',
        param: 'extra',
        message: expect.stringContaining('unknown parameter: extra'),
      },
    );
    await expect(client.embeddings.create({ model: 'nope', input: 'Hello' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      param: 'model',
    });
    await expect(client.embeddings.create({ model: MODEL, input: 'Hello' })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: expect.stringContaining(`model "${MODEL}" is a chat model and serves no embeddings`),
    });
    await expect(
      client.chat.completions.create({ model: 'embed', messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('model "embed" is an embedding model: use /v1/embeddings'),
    });
    await expect(client.embeddings.create({ model: 'embed', input: [] })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
    expect(await stack.simRequests()).toEqual([]);
  });

  it('embeddings - /v1/models lists embedding aliases with the chat ones', async () => {
    const ids = [];
    for await (const model of stack.openai().models.list()) ids.push(model.id);
    expect(ids).toEqual([MODEL, 'embed', 'embed-hf']);
  });

  it('embeddings - a key without the chat scope is a 403; requests count against requests per minute', async () => {
    const admin = (path: string, json: unknown) =>
      stack.fetch(`/v1/admin${path}`, { key: ADMIN_KEY, method: 'POST', json });
    const project = `emb-${Date.now().toString(36)}`;
    expect((await admin('/projects', { id: project, limits: {} })).status).toBe(201);
    const key = async (scopes: string[], limits = {}) => {
      const res = await admin('/keys', { project, name: 'embeddings', scopes, limits });
      expect(res.status).toBe(201);
      return ((await res.json()) as KeyCreated).key;
    };
    const noChat = await key(['conversations']);
    await expect(stack.openai(noChat).embeddings.create({ model: 'embed', input: 'Hello' })).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    // A minute has room for the limit; waiting out a minute about to end keeps both requests in one window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    const limited = await key(['chat'], { requestsPerMinute: 1 });
    const first = await stack.fetch('/v1/embeddings', {
      key: limited,
      method: 'POST',
      json: { model: 'embed', input: 'Hello' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    await expect(stack.openai(limited).embeddings.create({ model: 'embed', input: 'Hello' })).rejects.toMatchObject({
      status: 429,
      code: 'rate_limited',
    });
    // The answered request is in the usage stream, like a turn: the report counts it.
    const report = await eventually('the usage report has the embedding', async () => {
      const res = await stack.fetch(`/v1/admin/usage?project=${project}&groupBy=model`, { key: ADMIN_KEY });
      const body = (await res.json()) as UsageReport;
      return body.data.find((row) => row.group === 'embed');
    });
    expect(report).toMatchObject({ requests: 1, completion_tokens: 0 });
    expect(report.total_tokens).toBeGreaterThan(0);
  });
});
