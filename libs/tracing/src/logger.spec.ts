import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

/** Runs `script` (an ES module that can import `LOGGER`) in a child Node; its stdout lines and exit code. */
async function runChild(script: string): Promise<{ lines: string[]; code: number | null }> {
  const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', script.replace('LOGGER', JSON.stringify(logger))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { lines, code };
}

describe('logger', () => {
  it('logger - writes JSON with the service name and redacts secrets', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ service: 'test', destination });
    log.info({ headers: { authorization: 'Bearer pk-secret' }, apiKey: 'sk-secret' }, 'hello');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ service: 'test', level: 'info', msg: 'hello' });
    expect(lines[0]).not.toContain('secret');
  });

  it('logger - exitAfterFlush exits with the code only after every line is written, in order', async () => {
    // Enough output that pino is still writing when the exit is asked for.
    const { lines, code } = await runChild(`
      import { createLogger, exitAfterFlush } from LOGGER;
      const log = createLogger({ service: 'test' });
      for (let i = 0; i < 2000; i++) log.info({ i, padding: 'x'.repeat(500) }, 'line');
      log.fatal('last');
      await exitAfterFlush(log, 3);
    `);
    expect(code).toBe(3);
    expect(lines).toHaveLength(2001);
    expect(lines.map((line) => (JSON.parse(line) as { i?: number }).i).slice(0, 2000)).toEqual(
      Array.from({ length: 2000 }, (_, i) => i),
    );
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: 'fatal', msg: 'last' });
  });
});
