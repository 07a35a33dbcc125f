// EmbeddingsService against llm-sim over real HTTP: OpenAI-compatible and Hugging Face targets, fallbacks, and
// the requests no target can serve.
import type { EmbedRequest } from '@parley/contracts';
import { createLogger, createMetricsRegistry } from '@parley/tracing';
import { beforeEach, describe, expect, it } from 'vitest';
import { GenerationMetrics } from '../generation/generation.metrics.js';
import { HuggingFaceProvider } from '../providers/huggingface.provider.js';
import { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import { useLlmSim } from '../providers/provider.test-kit.js';
import { StaticReplyProvider } from '../providers/static.provider.js';
import { Router, type ModelRoute, type Target } from '../routing/router.js';
import { DEFAULT_GUARD, TargetGuard } from '../routing/target-guard.js';
import { EmbeddingsService } from './embeddings.service.js';

const log = createLogger({ service: 'inference-test', level: 'silent' });
const sim = useLlmSim();

beforeEach(async () => {
  await sim.client.configure({ fault: null, embeddingDimensions: 8 });
  await sim.client.clearRequests();
});

const guard = (name: string) => new TargetGuard(name, { ...DEFAULT_GUARD, retries: 0 });
const openaiTarget = (name: string): Target => ({
  name,
  upstreamModel: 'sim-model',
  provider: new OpenAICompatibleProvider({ name, baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 }),
  guard: guard(name),
});
const hfTarget = (name: string): Target => ({
  name,
  upstreamModel: 'sim-model',
  provider: new HuggingFaceProvider({ name, endpointUrl: sim.url }),
  guard: guard(name),
});

function service(routes: Record<string, Omit<ModelRoute, 'maxTokens'>>): EmbeddingsService {
  const router = new Router(
    new Map(Object.entries(routes).map(([alias, route]) => [alias, { ...route, maxTokens: { default: 1, max: 1 } }])),
  );
  return new EmbeddingsService(router, log, new GenerationMetrics(createMetricsRegistry('inference')));
}

const request = (overrides: Partial<EmbedRequest> = {}): EmbedRequest => ({
  model: 'embed',
  input: ['hello', 'world'],
  stickyKey: 'key_1',
  timeoutMs: 5_000,
  ...overrides,
});

const floats = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};

/** The simulator's own vectors for the inputs, asked for straight. */
async function simVectors(input: string[], dimensions?: number): Promise<number[][]> {
  const response = await fetch(`${sim.url}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-model', input, encoding_format: 'float', dimensions }),
  });
  return ((await response.json()) as { data: { embedding: number[] }[] }).data.map((d) => d.embedding);
}

describe('embeddings service', () => {
  it('embeddings - an OpenAI-compatible target gives one float32 vector per input, as base64, with usage', async () => {
    const embeddings = service({
      embed: { kind: 'embedding', split: [{ target: openaiTarget('a'), weight: 1 }], fallbacks: [] },
    });
    const reply = await embeddings.embed(request({ user: 'end-user-1' }));
    expect(reply.embeddings.map(floats)).toEqual(await simVectors(['hello', 'world']));
    expect(reply.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    const [record] = await sim.client.requests();
    expect(record).toMatchObject({ path: '/v1/embeddings', status: 'completed' });
    expect(record?.body).toMatchObject({
      model: 'sim-model',
      input: ['hello', 'world'],
      encoding_format: 'float',
      user: 'end-user-1',
    });
  });

  it('embeddings - a target that fails with 500 falls back to the next', async () => {
    const embeddings = service({
      embed: { kind: 'embedding', split: [{ target: openaiTarget('a'), weight: 1 }], fallbacks: [hfTarget('b')] },
    });
    await sim.client.configure({ fault: { kind: 'status', status: 500, times: 1 } });
    const reply = await embeddings.embed(request({ dimensions: 4 }));
    expect(reply.embeddings.map(floats)).toEqual(await simVectors(['hello', 'world'], 4));
    expect((await sim.client.requests()).map((r) => [r.path, r.fault])).toEqual([
      ['/v1/embeddings', 'status'],
      ['/', null],
      ['/v1/embeddings', null],
    ]);
  });

  it('embeddings - a rejected request is not retried elsewhere; an upstream 429 is rate_limited', async () => {
    const embeddings = service({
      embed: { kind: 'embedding', split: [{ target: openaiTarget('a'), weight: 1 }], fallbacks: [] },
    });
    await expect(embeddings.embed(request({ dimensions: 64 }))).rejects.toMatchObject({ code: 'upstream_rejected' });
    await sim.client.configure({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    await expect(embeddings.embed(request())).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 7 });
  });

  it('embeddings - token arrays and user go only to targets that take them; else a 400 naming what', async () => {
    const embeddings = service({
      hf: { kind: 'embedding', split: [{ target: hfTarget('b'), weight: 1 }], fallbacks: [] },
      mixed: { kind: 'embedding', split: [{ target: hfTarget('b'), weight: 1 }], fallbacks: [openaiTarget('a')] },
    });
    await expect(embeddings.embed(request({ model: 'hf', input: [[1, 2]] }))).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'input',
      message: 'model "hf" takes text inputs only, not token arrays',
    });
    await expect(embeddings.embed(request({ model: 'hf', user: 'u' }))).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'user',
    });
    const reply = await embeddings.embed(request({ model: 'mixed', input: [[1, 2]] }));
    expect(reply.embeddings).toHaveLength(1);
    expect((await sim.client.requests()).map((r) => r.path)).toEqual(['/v1/embeddings']);
  });

  it('embeddings - a chat alias is a 400 naming the model; a static target serves no embeddings', async () => {
    const embeddings = service({
      support: { kind: 'chat', split: [{ target: openaiTarget('a'), weight: 1 }], fallbacks: [] },
      canned: {
        kind: 'embedding',
        split: [{ target: { name: 'c', upstreamModel: 'static', provider: new StaticReplyProvider('hi') }, weight: 1 }],
        fallbacks: [],
      },
    });
    await expect(embeddings.embed(request({ model: 'support' }))).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'model',
      message: 'model "support" is a chat model and serves no embeddings',
    });
    await expect(embeddings.embed(request({ model: 'nope' }))).rejects.toMatchObject({ code: 'model_not_found' });
    await expect(embeddings.embed(request({ model: 'canned' }))).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(new StaticReplyProvider('hi').embed()).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await sim.client.requests()).toEqual([]);
  });
});
