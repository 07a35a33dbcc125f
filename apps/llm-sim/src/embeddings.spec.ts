import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { embeddingOf } from './embeddings.js';
import { startLlmSim, type LlmSim } from './server.js';

describe('llm-sim embeddings', () => {
  let sim: LlmSim;
  let openai: OpenAI;

  beforeAll(async () => {
    sim = await startLlmSim({ port: 0, embeddingDimensions: 16 });
    openai = new OpenAI({ baseURL: sim.openaiBaseUrl, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.configure({ fault: null, seed: 42 });
    sim.clearRequests();
  });

  it('embeddings - vectors are deterministic, unit length, one per input, and differ by input and seed', async () => {
    const reply = await openai.embeddings.create({
      model: 'sim-model',
      input: ['hello', 'world'],
      encoding_format: 'float',
    });
    expect(reply.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 16],
      ['embedding', 1, 16],
    ]);
    const [hello, world] = reply.data.map((d) => d.embedding);
    expect(Math.hypot(...hello!)).toBeCloseTo(1, 5);
    expect(hello).toEqual(embeddingOf({ input: 'hello', seed: 42, dimensions: 16 }));
    expect(world).not.toEqual(hello);
    expect(reply.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    sim.configure({ seed: 7 });
    const reseeded = await openai.embeddings.create({ model: 'sim-model', input: 'hello', encoding_format: 'float' });
    expect(reseeded.data[0]!.embedding).not.toEqual(hello);
  });

  it('embeddings - base64 (the SDK default) decodes to the same floats, and dimensions shortens the vectors', async () => {
    const floats = await openai.embeddings.create({ model: 'sim-model', input: 'hello', encoding_format: 'float' });
    const decoded = await openai.embeddings.create({ model: 'sim-model', input: 'hello' });
    expect(decoded.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    const short = await openai.embeddings.create({ model: 'sim-model', input: 'hello', dimensions: 4 });
    expect(short.data[0]!.embedding).toHaveLength(4);
    expect(Math.hypot(...short.data[0]!.embedding)).toBeCloseTo(1, 5);
    await expect(
      openai.embeddings.create({ model: 'sim-model', input: 'hello', dimensions: 17 }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'dimensions',
    });
  });

  it('embeddings - token arrays are inputs too, and requests are recorded like chat ones', async () => {
    const reply = await openai.embeddings.create({
      model: 'sim-model',
      input: [[1, 2, 3], [4]],
      encoding_format: 'float',
    });
    expect(reply.data).toHaveLength(2);
    expect(reply.usage.prompt_tokens).toBe(4);
    const [record] = sim.requests();
    expect(record).toMatchObject({ path: '/v1/embeddings', status: 'completed', httpStatus: 200, aborted: false });
    expect(record?.body).toMatchObject({ model: 'sim-model', input: [[1, 2, 3], [4]] });
  });

  it('embeddings - a status fault answers with its status and Retry-After, then clears', async () => {
    sim.configure({ fault: { kind: 'status', status: 429, retryAfterSeconds: 3, times: 1 } });
    const failed = await fetch(`${sim.openaiBaseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-model', input: 'hello' }),
    });
    expect(failed.status).toBe(429);
    expect(failed.headers.get('retry-after')).toBe('3');
    await failed.body?.cancel();
    await expect(openai.embeddings.create({ model: 'sim-model', input: 'hello' })).resolves.toMatchObject({
      object: 'list',
    });
    expect(sim.requests().map((r) => [r.fault, r.status])).toEqual([
      ['status', 'faulted'],
      [null, 'completed'],
    ]);
  });

  it('embeddings - POST / answers Text Embeddings Inference requests with a list of vectors', async () => {
    const response = await fetch(`${sim.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: ['hello', 'world'], dimensions: 8 }),
    });
    expect(response.status).toBe(200);
    const vectors = (await response.json()) as number[][];
    expect(vectors).toEqual([
      embeddingOf({ input: 'hello', seed: 42, dimensions: 8 }),
      embeddingOf({ input: 'world', seed: 42, dimensions: 8 }),
    ]);
    expect(sim.requests()[0]).toMatchObject({ path: '/', status: 'completed' });
  });
});
