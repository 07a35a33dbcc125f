/**
 * Runs a built service (`npm run build` first) as a child process, the way it runs in production, and waits
 * for its `ready` log line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessOutput, jsonLine } from './process-output.js';

export type ServiceName = 'gateway' | 'responder' | 'inference' | 'llm-sim';

const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const KILL_TIMEOUT_MS = 15_000;

export interface ServiceHandle {
  readonly name: ServiceName;
  readonly pid: number;
  /** The parsed `ready` log line (e.g. `port`, `url`). */
  readonly ready: Record<string, unknown>;
  logs(): string[];
  /** The first JSON log line `predicate` accepts (already logged or to come). */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` (SIGKILL simulates a crash) and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The entry point `nx build <name>` produces. */
export function serviceMain(name: ServiceName): string {
  return join(WORKSPACE, 'dist/apps', name, 'apps', name, 'src/main.js');
}

/**
 * @example const gateway = await startService('gateway', { env: { NATS_URL: nats.url, PORT: '0' } });
 */
export async function startService(
  name: ServiceName,
  { env = {}, readyTimeoutMs = 15_000 }: { env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<ServiceHandle> {
  const main = serviceMain(name);
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  // Only what the service needs: the test runner's own environment must not leak into it.
  const child = spawn(process.execPath, [main], {
    cwd: WORKSPACE,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new ProcessOutput(child);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) =>
    output.waitFor(
      `a log line of ${name}`,
      (line) => {
        const record = jsonLine(line);
        return record && predicate(record) ? record : undefined;
      },
      { timeoutMs, exited },
    );
  let ready: Record<string, unknown>;
  try {
    ready = await waitForLog((line) => line.msg === 'ready', readyTimeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${(error as Error).message}`, { cause: error });
  }
  return {
    name,
    pid: child.pid!,
    ready,
    logs: () => [...output.lines],
    waitForLog,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
}
