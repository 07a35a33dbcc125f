// Runs the built llm-sim (the one service with no dependencies): `npm run build` first, as `npm test` does.
import { describe, expect, it } from 'vitest';
import { startService } from './services.js';

describe('startService', () => {
  it('services - resolves with the ready record; SIGKILL ends the process like a crash', async () => {
    const sim = await startService('llm-sim', { env: { LLM_SIM_PORT: '0' } });
    try {
      expect(sim.ready).toMatchObject({ msg: 'ready', service: 'llm-sim' });
      expect(sim.ready.port).toEqual(expect.any(Number));
      expect(sim.logs().some((line) => line.includes('"msg":"ready"'))).toBe(true);
      expect((await fetch(`${String(sim.ready.url)}/v1/models`)).status).toBe(200);
    } finally {
      expect(await sim.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    }
    expect(await sim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await sim.kill()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('services - waitForLog sees a line logged just before the process exits', async () => {
    const sim = await startService('llm-sim', { env: { LLM_SIM_PORT: '0' } });
    const stopping = sim.waitForLog((record) => record.msg === 'llm-sim shutting down');
    expect(await sim.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    await expect(stopping).resolves.toMatchObject({ signal: 'SIGTERM' });
  });

  it('services - a service that exits before it is ready fails with its exit and log tail', async () => {
    await expect(startService('llm-sim', { env: { LLM_SIM_PORT: 'not-a-port' } })).rejects.toThrow(
      /llm-sim did not become ready: the process exited with code 1 .*\n.*invalid configuration/,
    );
  });

  it('services - a service that is not ready in time is killed and the error says so', async () => {
    await expect(startService('llm-sim', { env: { LLM_SIM_PORT: '0' }, readyTimeoutMs: 1 })).rejects.toThrow(
      /llm-sim did not become ready: timed out after 1 ms/,
    );
  });
});
