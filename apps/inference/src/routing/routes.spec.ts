import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceEnvSchema, loadConfig, type InferenceConfig } from '@parley/config';
import { connectNats, ensureJetStream, type NatsHandle } from '@parley/messaging';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { createLogger, createMetricsRegistry } from '@parley/tracing';
import type { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import type { ProviderContext } from '../providers/registry.js';
import { RouteBuilder, loadRouting } from './routes.js';
import { DEFAULT_GUARD } from './target-guard.js';

const ROUTING = `targets:
  vllm: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: m }
  openai: { provider: openai-compatible, baseUrl: "https://api.openai.com/v1", model: m }
  pinned: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: m, transport: sdk }
models:
  support: { split: [{ target: vllm }], fallbacks: [openai, pinned] }
`;

let server: NatsServerHandle;
let nats: NatsHandle;
let context: Omit<ProviderContext, 'config'>;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  const log = createLogger({ service: 'inference-test', level: 'silent' });
  nats = await connectNats({ url: server.url, name: 'inference-test', log });
  context = { log, nats, jetstream: await ensureJetStream(nats.nc), metrics: createMetricsRegistry('inference') };
  dir = mkdtempSync(join(tmpdir(), 'parley-routes-'));
});
afterAll(async () => {
  await nats?.drain();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The configuration of an inference reading `text` as its routing file. */
function withRoutingFile(text: string): InferenceConfig {
  const path = join(dir, 'models.yaml');
  writeFileSync(path, text);
  return loadConfig(inferenceEnvSchema, { PARLEY_MODELS_FILE: path });
}

describe('routes', () => {
  it('routes - transport picks the client for an openai-compatible target, by host when unset', () => {
    const config = withRoutingFile(ROUTING);
    const route = new RouteBuilder({ ...context, config }).build(loadRouting(config)).get('support');
    const transports = [route!.split[0]!.target, ...route!.fallbacks].map(
      (t) => (t.provider as OpenAICompatibleProvider).transport,
    );
    expect(transports).toEqual(['http', 'sdk', 'sdk']);
  });

  it('routes - each provider kind of the routing file gets its provider, named after its target', () => {
    const config = withRoutingFile(`targets:
  vllm: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: m, sessionHeader: x-session }
  hf: { provider: huggingface, model: m, hfProvider: together }
  sorry: { provider: static, reply: "Later." }
models:
  support: { split: [{ target: vllm }, { target: hf }], fallbacks: [sorry] }
`);
    const route = new RouteBuilder({ ...context, config }).build(loadRouting(config)).get('support')!;
    const targets = [...route.split.map((s) => s.target), ...route.fallbacks];
    expect(targets.map((t) => [t.name, t.provider.system, t.provider.name, t.upstreamModel])).toEqual([
      ['vllm', 'openai', 'vllm', 'm'],
      ['hf', 'huggingface', 'hf', 'm'],
      ['sorry', 'parley.static', 'static', 'static'],
    ]);
    expect(targets.map((t) => t.guard !== undefined)).toEqual([true, true, false]);
  });

  it('routes - without a routing file, one alias is served by the PARLEY_UPSTREAM_* target', () => {
    const config = loadConfig(inferenceEnvSchema, { PARLEY_MODEL_ALIAS: 'support', PARLEY_UPSTREAM_MODEL: 'llama' });
    const routes = new RouteBuilder({ ...context, config }).build(loadRouting(config));
    expect([...routes.keys()]).toEqual(['support']);
    const target = routes.get('support')!.split[0]!.target;
    expect(target).toMatchObject({ name: 'default', upstreamModel: 'llama' });
    expect(target.guard?.options).toEqual(DEFAULT_GUARD);
  });

  it('routes - a file that cannot be read, or names an unset key variable, is refused before building', () => {
    expect(() => loadRouting(loadConfig(inferenceEnvSchema, { PARLEY_MODELS_FILE: join(dir, 'none.yaml') }))).toThrow(
      /^PARLEY_MODELS_FILE: cannot read .*none\.yaml \(ENOENT\)$/,
    );
    const config = withRoutingFile(ROUTING.replace('model: m }', 'model: m, apiKeyEnv: PARLEY_TEST_UNSET_KEY }'));
    expect(() => loadRouting(config)).toThrow('target "vllm": environment variable PARLEY_TEST_UNSET_KEY is not set');
  });

  it('routes - a rebuild keeps a target guard while its limits stay, and replaces it when they change', () => {
    const config = withRoutingFile(ROUTING);
    const routes = new RouteBuilder({ ...context, config });
    const guardOf = (routing: ReturnType<typeof loadRouting>) =>
      routes.build(routing).get('support')!.split[0]!.target.guard;
    const first = guardOf(loadRouting(config));
    expect(guardOf(loadRouting(config))).toBe(first);
    const changed = guardOf(loadRouting(withRoutingFile(ROUTING.replace('model: m }', 'model: m, retries: 5 }'))));
    expect(changed).not.toBe(first);
    expect(changed?.options.retries).toBe(5);
  });
});
