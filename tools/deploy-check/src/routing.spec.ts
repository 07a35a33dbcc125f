import { describe, expect, it } from 'vitest';
import { keyVariables, readRouting } from './routing.js';

const FILE = `targets:
  vllm: { provider: openai-compatible, baseUrl: "http://vllm:8000/v1", model: llama }
  openai: { provider: openai-compatible, baseUrl: "https://api.openai.com/v1", model: gpt-4o-mini, apiKeyEnv: OPENAI_API_KEY }
  sorry: { provider: static, reply: "Later." }
models:
  support: { split: [{ target: vllm }], fallbacks: [openai, sorry] }
`;

describe('routing - the routing file as inference reads it', () => {
  it('routing - lists the targets by name and the variables their keys come from', () => {
    const routing = readRouting(FILE, 'models.yaml');
    expect(routing.problems).toEqual([]);
    expect(routing.targets.map((t) => [t.name, t.provider])).toEqual([
      ['vllm', 'openai-compatible'],
      ['openai', 'openai-compatible'],
      ['sorry', 'static'],
    ]);
    expect(keyVariables(routing.targets)).toEqual(['OPENAI_API_KEY']);
  });

  it('routing - a file inference would refuse is a problem naming its line and field, never the key', () => {
    const keyInFile = readRouting(FILE.replace('apiKeyEnv: OPENAI_API_KEY', 'apiKey: sk-live-123'), 'models.yaml');
    expect(keyInFile.targets).toEqual([]);
    expect(keyInFile.problems).toEqual([expect.stringMatching(/^models\.yaml:3: targets\.openai: .*apiKey/)]);
    expect(keyInFile.problems[0]).not.toContain('sk-live-123');
    const unknownTarget = readRouting(FILE.replace('fallbacks: [openai, sorry]', 'fallbacks: [nobody]'), 'x.yaml');
    expect(unknownTarget.problems).toEqual(['x.yaml:6: models.support.fallbacks.0: no target "nobody"']);
  });
});
