// GenerationService against a real nats-server and llm-sim over real HTTP: the chunks a generation writes,
// how it ends when cancelled, timed out or refused upstream, and when it falls back to another target.
import {
  ParleyError,
  ShadowReplySchema,
  TurnStreams,
  newId,
  type Chunk,
  type GenerateRequest,
  type ShadowReply,
  type TurnLimits,
} from '@parley/contracts';
import {
  SequenceReader,
  cancelTurn,
  connectNats,
  decode,
  ensureJetStream,
  subscriptionSource,
  type JetStreamHandles,
  type NatsHandle,
  type ReadTimeouts,
} from '@parley/messaging';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { createLogger, createMetricsRegistry, type Registry } from '@parley/tracing';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import { useLlmSim } from '../providers/provider.test-kit.js';
import { StaticReplyProvider } from '../providers/static.provider.js';
import { Router, type ModelRoute, type Target } from '../routing/router.js';
import { DEFAULT_GUARD, TargetGuard, type GuardOptions } from '../routing/target-guard.js';
import { GenerationMetrics } from './generation.metrics.js';
import { GenerationService } from './generation.service.js';
import { ShadowBudget, Shadows, type ShadowRoute } from '../shadow/shadow.js';

const log = createLogger({ service: 'inference-test', level: 'silent' });
const LIMITS: TurnLimits = { firstTokenTimeoutMs: 5_000, interTokenTimeoutMs: 5_000, turnTimeoutMs: 10_000 };
const READ: ReadTimeouts = {
  firstItemMs: 5_000,
  idleMs: 5_000,
  totalMs: 15_000,
  codes: { first: 'no_inference', idle: 'inter_token_timeout', total: 'turn_timeout' },
};
/** No retries, so a refused request shows at once (retries have their own spec, target-guard's). */
const NO_RETRIES: Partial<GuardOptions> = { retries: 0 };
const CANNED = 'Sorry, we are busy right now.';

const sim = useLlmSim();
let server: NatsServerHandle;
let nats: NatsHandle;
let jetstream: JetStreamHandles;
let registry: Registry;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'inference-test', log });
  jetstream = await ensureJetStream(nats.nc);
});
beforeEach(async () => {
  await sim.client.configure({ fault: null, replyText: null, tokens: 3, interTokenMs: 1 });
  await sim.client.clearRequests();
});
afterAll(async () => {
  await nats?.drain();
  await server?.stop();
});

function simTarget(name: string, guard: Partial<GuardOptions> = NO_RETRIES): Target {
  return {
    name,
    upstreamModel: 'sim-model',
    provider: new OpenAICompatibleProvider({ name, baseUrl: `${sim.url}/v1`, requestTimeoutMs: 5_000 }),
    guard: new TargetGuard(name, { ...DEFAULT_GUARD, ...guard }),
  };
}

const cannedTarget = (): Target => ({
  name: 'canned',
  upstreamModel: 'static',
  provider: new StaticReplyProvider(CANNED),
});

function service(route: Omit<ModelRoute, 'maxTokens' | 'kind'>): GenerationService {
  const router = new Router(new Map([['m', { kind: 'chat', ...route, maxTokens: { default: 64, max: 256 } }]]));
  registry = createMetricsRegistry('inference');
  const shadows = new Shadows({ jetstream, log, metrics: registry });
  return new GenerationService(nats, router, log, new GenerationMetrics(registry), shadows);
}

/** A shadow route to `target` for every turn, within `limits`. */
function shadowTo(target: Target, limits = { maxConcurrent: 4, perMinute: 60 }): ShadowRoute {
  return { target, share: 1, budget: new ShadowBudget(limits) };
}

/** The stored shadow reply of a turn, once there is one. */
async function shadowReply(conversationId: string, turnId: string): Promise<ShadowReply> {
  let reply: ShadowReply | undefined;
  await vi.waitFor(
    async () => {
      const entry = await jetstream.shadow.get(`${conversationId}.${turnId}`);
      expect(entry?.operation).toBe('PUT');
      reply = decode(ShadowReplySchema, entry!.value, 'shadow reply');
    },
    { timeout: 5_000 },
  );
  return reply!;
}

async function shadowCalls(outcome: string): Promise<number> {
  const metric = await registry.getSingleMetricAsString('parley_shadow_calls_total');
  const line = metric.split('\n').find((l) => l.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    turnId: newId('turn'),
    model: 'm',
    messages: [{ role: 'user', content: 'hello' }],
    params: {},
    limits: LIMITS,
    ...overrides,
  };
}

/** Subscribes to the turn's chunks before the generation starts, as the responder does. */
function chunksOf(turnId: string, timeouts = READ): SequenceReader<typeof TurnStreams.chunks.item> {
  return new SequenceReader(subscriptionSource(nats.nc, TurnStreams.chunks.subject(turnId)), {
    stream: TurnStreams.chunks,
    timeouts,
  });
}

async function all(chunks: AsyncIterable<Chunk>): Promise<Chunk[]> {
  const read: Chunk[] = [];
  for await (const chunk of chunks) read.push(chunk);
  return read;
}

const textOf = (chunks: Chunk[]) => chunks.map((c) => (c.type === 'delta' ? c.text : '')).join('');

describe('generation service', () => {
  it('generation - streams the reply as chunks numbered from 1, ending once with end and its usage', async () => {
    await sim.client.configure({ replyText: 'one two three' });
    const generate = request();
    const chunks = chunksOf(generate.turnId);
    expect(await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [] }).start(generate)).toEqual({
      turnId: generate.turnId,
      upstreamModel: 'sim-model',
      arm: 'a',
    });
    const read = await all(chunks);
    expect(read.map((c) => c.seq)).toEqual(read.map((_, i) => i + 1));
    expect(textOf(read)).toBe('one two three');
    expect(read.filter((c) => c.type !== 'delta')).toEqual([
      {
        type: 'end',
        seq: read.length,
        finishReason: 'stop',
        usage: expect.objectContaining({ completion_tokens: expect.any(Number) }),
        target: 'a',
        upstreamModel: 'sim-model',
      },
    ]);
  });

  it('generation - a cancel aborts the upstream request and ends the chunks with finish reason cancelled', async () => {
    await sim.client.configure({ tokens: 500, interTokenMs: 20 });
    const generate = request();
    const chunks = chunksOf(generate.turnId);
    await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [] }).start(generate);
    const read: Chunk[] = [];
    for await (const chunk of chunks) {
      read.push(chunk);
      if (read.length === 2) cancelTurn(nats.nc, generate.turnId, 'user');
    }
    expect(read.at(-1)).toMatchObject({ type: 'end', finishReason: 'cancelled', seq: read.length });
    expect(read.length).toBeLessThan(100);
    await vi.waitFor(async () => expect((await sim.client.requests())[0]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("generation - the turn's total timeout aborts the upstream request and ends with turn_timeout", async () => {
    await sim.client.configure({ tokens: 500, interTokenMs: 20 });
    const generate = request({ limits: { ...LIMITS, turnTimeoutMs: 300 } });
    const chunks = chunksOf(generate.turnId);
    await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [] }).start(generate);
    const read = await all(chunks);
    expect(read.at(-1)).toMatchObject({ type: 'error', error: { code: 'turn_timeout', retryable: true } });
    expect(read.filter((c) => c.type !== 'delta')).toHaveLength(1);
    await vi.waitFor(async () => expect((await sim.client.requests())[0]?.aborted).toBe(true), { timeout: 5_000 });
  });

  it("generation - an upstream 429 with Retry-After: 7 ends the chunks with rate_limited and the upstream's 7 s", async () => {
    await sim.client.configure({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    const generate = request();
    const chunks = chunksOf(generate.turnId);
    await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [] }).start(generate);
    expect(await all(chunks)).toEqual([
      {
        type: 'error',
        seq: 1,
        error: expect.objectContaining({ code: 'rate_limited', retryable: true, retryAfterSeconds: 7 }),
      },
    ]);
  });

  it('generation - a target failing before its first token falls back to the next, which answers', async () => {
    await sim.client.configure({ fault: { kind: 'status', status: 503 } });
    const generate = request();
    const chunks = chunksOf(generate.turnId);
    await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [cannedTarget()] }).start(generate);
    const read = await all(chunks);
    expect(textOf(read)).toBe(CANNED);
    expect(read.at(-1)).toMatchObject({ type: 'end', finishReason: 'stop' });
    expect((await sim.client.requests()).map((r) => r.fault)).toEqual(['status']);
  });

  it('generation - a failure after the first token does not fall back: the chunks end with a retryable error', async () => {
    await sim.client.configure({ tokens: 20, fault: { kind: 'cut', afterTokens: 3 } });
    const generate = request();
    const chunks = chunksOf(generate.turnId);
    await service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [cannedTarget()] }).start(generate);
    const read = await all(chunks);
    expect(textOf(read)).not.toContain(CANNED);
    expect(read.filter((c) => c.type === 'delta').length).toBeGreaterThan(0);
    expect(read.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_error', retryable: true } });
  });

  it('generation - a turn queued behind a slow stream is refused at its 2 s queue deadline with a Retry-After', async () => {
    await sim.client.configure({ tokens: 500, interTokenMs: 20 });
    const busy = service({
      split: [{ target: simTarget('a', { ...NO_RETRIES, maxConcurrency: 1, maxQueue: 1 }), weight: 1 }],
      fallbacks: [],
    });
    const running = request();
    const chunks = chunksOf(running.turnId);
    await busy.start(running);
    const started = performance.now();
    const refused = await busy.start(request()).catch((error: unknown) => error);
    const waitedMs = performance.now() - started;
    expect(refused).toMatchObject({ code: 'rate_limited' });
    // The stream in flight has run about 2 s and is expected to run as long again.
    expect((refused as ParleyError).retryAfterSeconds).toBeGreaterThanOrEqual(2);
    expect(waitedMs).toBeGreaterThanOrEqual(1_900);
    expect(waitedMs).toBeLessThan(3_500);
    cancelTurn(nats.nc, running.turnId, 'user');
    expect((await all(chunks)).at(-1)).toMatchObject({ type: 'end', finishReason: 'cancelled' });
  });

  it('generation - with every target at capacity the generation is refused with rate_limited and writes nothing', async () => {
    await sim.client.configure({ tokens: 500, interTokenMs: 20 });
    const full = service({
      split: [{ target: simTarget('a', { ...NO_RETRIES, maxConcurrency: 1, maxQueue: 0 }), weight: 1 }],
      fallbacks: [],
    });
    const running = request();
    const chunks = chunksOf(running.turnId);
    await full.start(running);
    const refused = request();
    const none = chunksOf(refused.turnId, { ...READ, firstItemMs: 300 });
    await expect(full.start(refused)).rejects.toEqual(
      expect.objectContaining({ code: 'rate_limited', retryAfterSeconds: 1 } satisfies Partial<ParleyError>),
    );
    cancelTurn(nats.nc, running.turnId, 'user');
    expect((await all(chunks)).at(-1)).toMatchObject({ type: 'end', finishReason: 'cancelled' });
    // The refused turn's reader hears nothing and ends with its own first-item timeout.
    await expect(all(none)).rejects.toMatchObject({ code: 'no_inference' });
  });

  it('shadow - a shadowed turn streams only the real reply; the candidate reply is stored beside it', async () => {
    await sim.client.configure({ replyText: 'the same words' });
    const conversationId = newId('conversation');
    const generate = request({ conversationId });
    const chunks = chunksOf(generate.turnId);
    const route = { split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [], shadow: shadowTo(cannedTarget()) };
    await service(route).start(generate);
    const read = await all(chunks);
    expect(textOf(read)).toBe('the same words');
    expect(textOf(read)).not.toContain(CANNED);
    const reply = await shadowReply(conversationId, generate.turnId);
    expect(reply).toMatchObject({ arm: 'a', target: 'canned', model: 'm', text: CANNED, finishReason: 'stop' });
    expect(reply.error).toBeUndefined();
    expect(await shadowCalls('stored')).toBe(1);
  });

  it('shadow - a failing candidate neither delays nor fails the real turn; its failure is stored and counted', async () => {
    const dead: Target = {
      name: 'dead',
      upstreamModel: 'dead-model',
      provider: new OpenAICompatibleProvider({
        name: 'dead',
        baseUrl: 'http://127.0.0.1:1/v1',
        requestTimeoutMs: 1_000,
      }),
    };
    const conversationId = newId('conversation');
    const generate = request({ conversationId });
    const chunks = chunksOf(generate.turnId);
    const route = { split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [], shadow: shadowTo(dead) };
    await service(route).start(generate);
    const read = await all(chunks);
    expect(read.at(-1)).toMatchObject({ type: 'end', finishReason: 'stop', target: 'a' });
    const reply = await shadowReply(conversationId, generate.turnId);
    expect(reply).toMatchObject({ target: 'dead', text: '', error: 'upstream_error' });
    await vi.waitFor(async () => expect(await shadowCalls('failed')).toBe(1), { timeout: 5_000 });
  });

  it('shadow - calls over the budget are not made, and stateless turns are never shadowed', async () => {
    await sim.client.configure({ tokens: 50, interTokenMs: 10 });
    const shadow = shadowTo(simTarget('cand'), { maxConcurrent: 1, perMinute: 60 });
    const generation = service({ split: [{ target: simTarget('a'), weight: 1 }], fallbacks: [], shadow });
    const first = request({ conversationId: newId('conversation') });
    const second = request({ conversationId: newId('conversation') });
    const stateless = request();
    const readers = [first, second, stateless].map((r) => all(chunksOf(r.turnId)));
    for (const r of [first, second, stateless]) await generation.start(r);
    await Promise.all(readers);
    await shadowReply(first.conversationId!, first.turnId);
    expect(await shadowCalls('over_budget')).toBe(1);
    expect(await jetstream.shadow.get(`${second.conversationId!}.${second.turnId}`)).toBeNull();
    // Two real generations and one shadow call reached the upstream; the stateless turn had none.
    expect((await sim.client.requests()).map((r) => r.body?.model).sort()).toEqual([
      'sim-model',
      'sim-model',
      'sim-model',
      'sim-model',
    ]);
  });
});
