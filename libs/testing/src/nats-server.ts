/**
 * A real nats-server with JetStream for tests: on a free port, with its own store directory, stopped and
 * restarted on the same port and store to prove that data survives and clients reconnect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ProcessOutput } from './process-output.js';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the server; with `keepStore`, a later `restart()` finds the same data. */
  stop(options?: { keepStore?: boolean }): Promise<void>;
  /** Stops (if running) and starts again on the same port and store directory. */
  restart(): Promise<void>;
}

/**
 * @example const nats = await startNatsServer(); ... await nats.stop();
 */
export async function startNatsServer({ binary = 'nats-server' }: { binary?: string } = {}): Promise<NatsServerHandle> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'parley-nats-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = new ProcessOutput(proc);
    const exited = once(proc, 'exit');
    const failed = once(proc, 'error').then(([error]) => {
      throw new Error(
        `cannot start ${binary} (${(error as Error).message}); install it: apt-get install -y nats-server`,
      );
    });
    child = proc;
    await Promise.race([
      output.waitFor('nats-server to be ready', (line) => (line.includes('Server is ready') ? true : undefined), {
        timeoutMs: READY_TIMEOUT_MS,
        exited,
      }),
      failed,
    ]);
  };

  const stopProcess = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop({ keepStore = false } = {}) {
      await stopProcess();
      if (!keepStore) rmSync(storeDir, { recursive: true, force: true });
    },
    async restart() {
      await stopProcess();
      await start();
    },
  };
}
