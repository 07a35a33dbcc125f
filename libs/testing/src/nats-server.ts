/**
 * A real nats-server with JetStream for tests: on a free port, with its own store directory, stopped and
 * restarted on the same port and store to prove that data survives and clients reconnect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ProcessOutput } from './process-output.js';

/** How long nats-server may take to log "Server is ready", JetStream recovery included. */
const READY_TIMEOUT_MS = 10_000;
/** How long nats-server may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** First-start attempts: another process may take the free port between `freePort()` and the bind. */
const PORT_ATTEMPTS = 3;

export interface NatsServerOptions {
  /** The nats-server executable, looked up on PATH unless it is a path. */
  binary?: string;
  /** How long each start may take before it fails. */
  readyTimeoutMs?: number;
}

export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory, removed by the final `stop()`. */
  readonly storeDir: string;
  /**
   * Stops the server and waits for it to exit. Without `keepStore` this is the final stop: the store is
   * removed and `restart()` is no longer possible. Safe to call more than once.
   */
  stop(options?: { keepStore?: boolean }): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port and store directory. */
  restart(): Promise<void>;
}

interface Running {
  child: ChildProcess;
  output: ProcessOutput;
}

/**
 * Starts a nats-server with JetStream on a free port of 127.0.0.1, with a fresh store directory, and
 * resolves once it accepts connections. Never use the machine's own server in tests: start one of these.
 *
 * @throws Error with the server's output tail when it cannot start or is not ready in time.
 * @example
 * const nats = await startNatsServer();
 * const nc = await connect({ servers: nats.url });
 * await nats.restart(); // same port and data: clients reconnect
 * await nats.stop();
 */
export async function startNatsServer({
  binary = 'nats-server',
  readyTimeoutMs = READY_TIMEOUT_MS,
}: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const storeDir = mkdtempSync(join(tmpdir(), 'parley-nats-'));
  let running: Running | undefined;
  let port = 0;
  try {
    for (let attempt = 1; !running; attempt++) {
      port = await freePort();
      try {
        running = await launch({ binary, port, storeDir, readyTimeoutMs });
      } catch (error) {
        if (attempt >= PORT_ATTEMPTS || !String(error).includes('address already in use')) throw error;
      }
    }
  } catch (error) {
    rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }

  let final = false;
  const stopProcess = async () => {
    const current = running;
    running = undefined;
    if (current) await terminate(current);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop({ keepStore = false } = {}) {
      await stopProcess();
      if (keepStore || final) return;
      final = true;
      rmSync(storeDir, { recursive: true, force: true });
    },
    async restart() {
      if (final) throw new Error(`the nats-server of port ${port} was stopped for good: start a new one`);
      await stopProcess();
      running = await launch({ binary, port, storeDir, readyTimeoutMs });
    },
  };
}

async function launch({
  binary,
  port,
  storeDir,
  readyTimeoutMs,
}: {
  binary: string;
  port: number;
  storeDir: string;
  readyTimeoutMs: number;
}): Promise<Running> {
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running = { child, output: new ProcessOutput(child) };
  try {
    // nats-server logs this once the client port listens and JetStream has recovered its streams.
    await running.output.waitFor(
      `${binary} on port ${port} to be ready`,
      (line) => (line.includes('Server is ready') ? true : undefined),
      readyTimeoutMs,
    );
    return running;
  } catch (error) {
    await terminate(running);
    if (running.output.spawnError) {
      throw new Error(`cannot run ${binary} (${running.output.spawnError.message}): apt-get install -y nats-server`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once the process is gone. */
async function terminate({ child, output }: Running): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  }
  try {
    await output.closed;
  } finally {
    clearTimeout(timer);
  }
}
