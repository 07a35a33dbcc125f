// A service that cannot start says why in one JSON line and exits 1, instead of Node's plain-text crash.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, startService, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

let nats: NatsServerHandle;
let taken: Server;
let takenPort: number;

beforeAll(async () => {
  nats = await startNatsServer();
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  await nats?.stop();
});

/** The last line a service wrote before it exited, parsed. */
async function lastLineOfFailedStart(app: 'gateway' | 'responder' | 'inference', env: Record<string, string>) {
  const failure = await startService(app, { env: { NATS_URL: nats.url, ...env } }).then(
    () => new Error(`${app} started`),
    (error: unknown) => error as Error,
  );
  expect(failure.message).toMatch(new RegExp(`${app} did not become ready: the process exited with code 1`));
  const lines = failure.message.split('\n').filter((line) => line.startsWith('{'));
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

it('startup - a gateway whose port is taken logs one fatal JSON line with the reason and exits 1', async () => {
  const line = await lastLineOfFailedStart('gateway', {
    PORT: String(takenPort),
    HOST: '127.0.0.1',
    PARLEY_API_KEYS: 'pk-startup-test-4f9c2a7e1b',
  });
  expect(line).toMatchObject({
    level: 'fatal',
    service: 'gateway',
    msg: 'could not start',
    err: { code: 'EADDRINUSE', message: expect.stringContaining(String(takenPort)) },
  });
});

it('startup - a NATS service whose operations port is taken does the same', async () => {
  const line = await lastLineOfFailedStart('responder', { PARLEY_OPS_PORT: String(takenPort) });
  expect(line).toMatchObject({
    level: 'fatal',
    service: 'responder',
    msg: 'could not start',
    err: { code: 'EADDRINUSE' },
  });
});

it('startup - inference refuses an invalid routing file before it connects to NATS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-startup-'));
  try {
    const file = join(dir, 'models.yaml');
    writeFileSync(
      file,
      'targets:\n  a: { provider: static, reply: Later }\nmodels:\n  support: { split: [{ target: nobody }] }\n',
    );
    // Nothing listens on port 1: had inference connected first, it would fail there instead.
    const line = await lastLineOfFailedStart('inference', { PARLEY_MODELS_FILE: file, NATS_URL: 'nats://127.0.0.1:1' });
    expect(line).toMatchObject({
      level: 'fatal',
      service: 'inference',
      msg: 'invalid routing',
      problem: `${file}:4: models.support.split.0.target: no target "nobody"`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
