import { describe, expect, it } from 'vitest';
import { inferenceEnvSchema, loadConfig, parseRoutingFile } from '@parley/config';
import type { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import { buildRoutes } from './routes.js';

describe('routes', () => {
  it('routes - transport picks the client for an openai-compatible target, by host when unset', () => {
    const text = `targets:
  vllm: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: m }
  openai: { provider: openai-compatible, baseUrl: "https://api.openai.com/v1", model: m }
  pinned: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: m, transport: sdk }
models:
  support: { split: [{ target: vllm }], fallbacks: [openai, pinned] }
`;
    const config = loadConfig(inferenceEnvSchema, {});
    const route = buildRoutes(parseRoutingFile(text, 'models.yaml'), config).get('support');
    const transports = [route!.split[0]!.target, ...route!.fallbacks].map(
      (t) => (t.provider as OpenAICompatibleProvider).transport,
    );
    expect(transports).toEqual(['http', 'sdk', 'sdk']);
  });
});
