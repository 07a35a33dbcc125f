/**
 * What the provider specs share: an llm-sim process started for the file, a generate input builder and a value
 * for every sampling parameter.
 * (Test code: excluded from the build, linted with the spec rules.)
 */
import type { GenerationParams } from '@parley/contracts';
import { LlmSimClient, startService, type ServiceHandle } from '@parley/testing';
import { afterAll, beforeAll } from 'vitest';
import type { ChatProvider, GenerateInput } from './provider.js';

/** A value for every parameter of GenerationParamsSchema (a spec checks that none is missing). */
export const EVERY_PARAM: Required<GenerationParams> = {
  temperature: 0.5,
  top_p: 0.9,
  max_tokens: 64,
  stop: ['never-said'],
  seed: 7,
  presence_penalty: 0.1,
  frequency_penalty: 0.2,
  tools: [{ type: 'function', function: { name: 'lookup_order', parameters: { type: 'object', properties: {} } } }],
  tool_choice: 'none',
  parallel_tool_calls: false,
  response_format: { type: 'json_object' },
  user: 'end-user-1',
  logprobs: true,
  top_logprobs: 2,
  logit_bias: { '50256': -100 },
};

/** {@link EVERY_PARAM} less those `provider` cannot serve (which inference never sends it). */
export function servableParams(provider: ChatProvider): GenerationParams {
  return Object.fromEntries(
    Object.entries(EVERY_PARAM).filter(([name]) => !provider.unsupportedParams.has(name as keyof GenerationParams)),
  );
}

/** A generate input for llm-sim's model, with `overrides`. */
export function input(overrides: Partial<GenerateInput> = {}): GenerateInput {
  return {
    model: 'sim-model',
    messages: [{ role: 'user', content: 'hello' }],
    params: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Starts a fast llm-sim before the file's tests and stops it after; `url` and `client` are set by then. */
export function useLlmSim(): { url: string; client: LlmSimClient } {
  const sim = { url: '', client: new LlmSimClient('') };
  let process: ServiceHandle | undefined;
  beforeAll(async () => {
    process = await startService('llm-sim', {
      env: { LLM_SIM_PORT: '0', LLM_SIM_TTFT_MS: '1', LLM_SIM_INTER_TOKEN_MS: '1' },
    });
    sim.url = String(process.ready.url);
    sim.client = new LlmSimClient(sim.url);
  });
  afterAll(() => process?.kill());
  return sim;
}
