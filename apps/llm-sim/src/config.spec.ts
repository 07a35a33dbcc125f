import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_CONFIG, loadSimConfig, SimConfigError } from './config.js';
import { startLlmSim } from './server.js';

describe('llm-sim config', () => {
  it('llm-sim - config defaults apply when no variable is set', () => {
    expect(loadSimConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8000,
      model: 'sim-model',
      ttftMs: 20,
      interTokenMs: 20,
      tokens: 30,
      burst: 1,
      seed: 42,
      replyText: null,
      embeddingDimensions: 384,
      fault: null,
    });
  });

  it('llm-sim - config reads LLM_SIM_* variables and CLI flags win over them', () => {
    const env = {
      LLM_SIM_PORT: '0',
      LLM_SIM_HOST: '0.0.0.0',
      LLM_SIM_MODEL: 'qwen',
      LLM_SIM_TTFT_MS: '5',
      LLM_SIM_INTER_TOKEN_MS: '7',
      LLM_SIM_TOKENS: '100',
      LLM_SIM_BURST: '10',
      LLM_SIM_SEED: '-3',
      LLM_SIM_UNRELATED: 'ignored',
    };
    expect(loadSimConfig(env)).toEqual({
      ...DEFAULT_SIM_CONFIG,
      host: '0.0.0.0',
      port: 0,
      model: 'qwen',
      ttftMs: 5,
      interTokenMs: 7,
      tokens: 100,
      burst: 10,
      seed: -3,
    });
    expect(loadSimConfig(env, ['--port', '9000', '--burst=2', '--model', 'flagged'])).toMatchObject({
      port: 9000,
      burst: 2,
      model: 'flagged',
      tokens: 100,
    });
  });

  it('llm-sim - config treats an empty variable as unset', () => {
    expect(loadSimConfig({ LLM_SIM_PORT: '' }).port).toBe(8000);
  });

  it.each([
    ['a port that is not a number', { LLM_SIM_PORT: 'eighty' }, [], /^LLM_SIM_PORT: expected an integer/],
    ['a port out of range', { LLM_SIM_PORT: '70000' }, [], /^LLM_SIM_PORT: .*65535/],
    ['a zero burst', { LLM_SIM_BURST: '0' }, [], /^LLM_SIM_BURST: /],
    ['a fractional delay', { LLM_SIM_TTFT_MS: '1.5' }, [], /^LLM_SIM_TTFT_MS: /],
    ['a negative token count flag', {}, ['--tokens=-1'], /^--tokens: /],
    ['an unknown flag', {}, ['--verbose'], /--verbose/],
  ])('llm-sim - config rejects %s, naming the variable or flag', (_name, env, argv, message) => {
    expect(() => loadSimConfig(env, argv)).toThrow(SimConfigError);
    expect(() => loadSimConfig(env, argv)).toThrow(message);
  });

  it('llm-sim - startLlmSim rejects invalid options', async () => {
    await expect(startLlmSim({ port: 0, interTokenMs: -5 })).rejects.toThrow(/^interTokenMs: /);
    await expect(startLlmSim({ port: 0, maxRecords: 0 })).rejects.toThrow(SimConfigError);
  });
});
