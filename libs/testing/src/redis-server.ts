/**
 * A real redis-server for tests: on a free port of 127.0.0.1, without persistence unless asked, stopped,
 * killed and restarted on the same port (and data directory) to prove what survives a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchOnFreePort, launchServer, stopServer, type ServerProcess } from './server-process.js';

/** How long redis-server may take to log that it is ready, loading its append-only file included. */
const READY_TIMEOUT_MS = 10_000;

export interface RedisServerOptions {
  /** The redis-server executable, looked up on PATH unless it is a path. */
  binary?: string;
  /** How long each start may take before it fails. */
  readyTimeoutMs?: number;
  /**
   * Keep the data in an append-only file (fsync every second, Redis's default) in a temporary directory, so
   * that it survives `restart()` and, up to the last second, `kill()`. Default: no persistence at all.
   */
  appendonly?: boolean;
}

export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server's working directory (its append-only files with `appendonly`), removed by the final `stop()`. */
  readonly dataDir: string;
  /**
   * Stops the server (SIGTERM: with `appendonly` it flushes its file first) and waits for it to exit. Without
   * `keepData` this is the final stop: the data directory is removed and `restart()` is no longer possible.
   * Safe to call more than once.
   */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Kills the server (SIGKILL, a crash: nothing is flushed) and waits for it to be gone. `restart()` still works. */
  kill(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered. */
  pause(): void;
  /** Thaws a paused server. */
  resume(): void;
}

/**
 * Starts a redis-server on a free port of 127.0.0.1 and resolves once it accepts connections. Never use the
 * machine's own Redis in tests (one may listen on 6379): start one of these.
 *
 * @throws Error with the server's output tail when it cannot start or is not ready in time.
 * @example
 * const redis = await startRedisServer({ appendonly: true });
 * const client = new Redis(redis.url);
 * await redis.restart(); // same port and data
 * await redis.stop();
 */
export async function startRedisServer({
  binary = 'redis-server',
  readyTimeoutMs = READY_TIMEOUT_MS,
  appendonly = false,
}: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  const launch = (port: number) =>
    launchServer({
      binary,
      args: serverArgs(port, dataDir, appendonly),
      port,
      cwd: dataDir,
      // Logged once the port listens and the append-only file, if any, has been loaded.
      readyLine: 'Ready to accept connections',
      readyTimeoutMs,
      debianPackage: 'redis-server',
    });
  let running: ServerProcess | undefined;
  let port: number;
  try {
    ({ port, running } = await launchOnFreePort(launch, 'Address already in use'));
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  let final = false;
  const end = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const current = running;
    running = undefined;
    if (current) await stopServer(current, signal);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dataDir,
    async stop({ keepData = false } = {}) {
      await end('SIGTERM');
      if (keepData || final) return;
      final = true;
      rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
    async restart() {
      if (final) throw new Error(`the redis-server of port ${port} was stopped for good: start a new one`);
      await end('SIGTERM');
      running = await launch(port);
    },
    pause() {
      running?.child.kill('SIGSTOP');
    },
    resume() {
      running?.child.kill('SIGCONT');
    },
  };
}

/** Loopback only, no RDB snapshots, and the append-only file only when asked for. */
function serverArgs(port: number, dataDir: string, appendonly: boolean): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir],
    ...['--save', '', '--appendonly', appendonly ? 'yes' : 'no'],
    // Not a daemon, and no attempt to talk to systemd or write a pid file.
    ...['--daemonize', 'no', '--supervised', 'no'],
  ];
}
