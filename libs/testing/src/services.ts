/**
 * Runs a built service (`npm run build` first) as a child process, the way it runs in production, and waits
 * for its `ready` log line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessOutput, jsonLine, type ExitStatus } from './process-output.js';

export type ServiceName = 'gateway' | 'responder' | 'inference' | 'llm-sim';

/** One parsed JSON log line (pino format: `level`, `time`, `service`, `msg`, ...). */
export type LogRecord = Record<string, unknown>;

/** The V8 flags of scripts/local.ts's SERVICE_NODE_FLAGS and docker/Dockerfile's CMD (a deploy check compares them). */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8'];

const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** How long `waitForLog` waits unless told. */
const WAIT_FOR_LOG_TIMEOUT_MS = 10_000;
/** How long `kill()` waits for a graceful exit before it sends SIGKILL. */
const KILL_TIMEOUT_MS = 15_000;

export interface StartServiceOptions {
  /** Environment for the service, over a minimal base (PATH, HOME, LOG_LEVEL=info). */
  env?: Record<string, string>;
  /** How long the service may take to log `ready`. */
  readyTimeoutMs?: number;
}

export interface ServiceHandle {
  readonly name: ServiceName;
  readonly pid: number;
  /** The parsed `ready` log line (e.g. `port`, `url`). */
  readonly ready: LogRecord;
  /** Settles when the process has ended and its output is read; never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Every line of stdout and stderr so far. */
  logs(): string[];
  /** The first JSON log line `predicate` accepts (already logged or to come). */
  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /**
   * Sends `signal` (SIGKILL simulates a crash), SIGKILL after 15 s if still running, and resolves once the
   * process has ended. Safe to call when it already has.
   */
  kill(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/** The entry point `nx build <name>` produces: its bundle (scripts/bundle.ts), the file that ships. */
export function serviceMain(name: ServiceName): string {
  return join(WORKSPACE, 'dist/apps', name, 'main.js');
}

/**
 * Starts the built `name` service with `env` and resolves once it has logged its `ready` line.
 *
 * @throws Error when the build output is missing, or with the log tail when the service exits or times out
 *   before it is ready (it is then killed).
 * @example
 * const gateway = await startService('gateway', { env: { NATS_URL: nats.url, PORT: '0' } });
 * const url = `http://127.0.0.1:${String(gateway.ready.port)}`;
 * await gateway.kill('SIGKILL');
 */
export async function startService(
  name: ServiceName,
  { env = {}, readyTimeoutMs = 15_000 }: StartServiceOptions = {},
): Promise<ServiceHandle> {
  const main = serviceMain(name);
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, main], {
    cwd: WORKSPACE,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new ProcessOutput(child);

  const waitForLog = (predicate: (record: LogRecord) => boolean, timeoutMs = WAIT_FOR_LOG_TIMEOUT_MS) =>
    output.waitFor(
      `a matching log line of ${name}`,
      (line) => {
        const record = jsonLine(line);
        return record && predicate(record) ? record : undefined;
      },
      timeoutMs,
    );

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    let timer: NodeJS.Timeout | undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      timer = setTimeout(() => child.kill('SIGKILL'), KILL_TIMEOUT_MS);
    }
    try {
      return await output.closed;
    } finally {
      clearTimeout(timer);
    }
  };

  let ready: LogRecord;
  try {
    ready = await waitForLog((record) => record.msg === 'ready', readyTimeoutMs);
  } catch (error) {
    await kill('SIGKILL');
    throw new Error(`${name} did not become ready: ${(error as Error).message}`, { cause: error });
  }
  return {
    name,
    pid: child.pid!,
    ready,
    exited: output.closed,
    logs: () => [...output.lines],
    waitForLog,
    kill,
  };
}

/**
 * Only what any process needs: the test runner's own environment (NATS_URL, PORT, keys) must not leak into
 * a service and silently change what a test checks.
 */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { LOG_LEVEL: 'info' };
  for (const key of ['PATH', 'HOME'] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}
