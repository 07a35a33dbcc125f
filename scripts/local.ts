/**
 * What `npm start` (start.ts) and `nx serve` (serve.ts) share: the built entry points, the local API key and
 * running a service until its ready line. Node runs these scripts directly (type stripping), so they import
 * only Node's own modules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Local state, git-ignored: the API key and the JetStream store of a nats-server started here. */
export const STATE_DIR = join(ROOT, '.parley');
export const APPS = ['gateway', 'responder', 'inference', 'llm-sim'] as const;
export type App = (typeof APPS)[number];

/** How long a service may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 15_000;

export function isApp(name: string | undefined): name is App {
  return APPS.some((app) => app === name);
}

/** The entry point `nx build <app>` produces (its bundle, scripts/bundle.ts); throws when it has not been built. */
export function builtMain(app: App): string {
  const main = join(ROOT, 'dist/apps', app, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  return main;
}

/**
 * The key for local use, kept in `.parley/api-key` (git-ignored, mode 0600) so that it survives restarts.
 * Only for when no key is configured.
 */
export function localApiKey(): { key: string; created: boolean } {
  return localSecret('api-key', () => `sk-${randomBytes(32).toString('base64url')}`);
}

/**
 * A value kept in `.parley/<name>` (git-ignored, mode 600) so it stays the same across `npm start`s: the local
 * API key, the demo's widget key, the visitor-token secret.
 */
export function localSecret(name: string, make: () => string): { key: string; created: boolean } {
  const file = join(STATE_DIR, name);
  const existing = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (existing) return { key: existing, created: false };
  mkdirSync(STATE_DIR, { recursive: true });
  const key = make();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}

/** Prints `name | line`, so that the interleaved output of several processes says where each line is from. */
export function printPrefixed(name: string, line: string): void {
  process.stdout.write(`${name.padEnd(11)} | ${line}\n`);
}

function printLines(name: string, stream: Readable, onLine: (line: string) => void, echo: boolean): void {
  createInterface({ input: stream }).on('line', (line) => {
    if (echo) printPrefixed(name, line);
    onLine(line);
  });
}

export interface Running {
  app: App;
  child: ChildProcess;
  /** The parsed `ready` log line; rejects when the service ends or times out first. */
  ready: Promise<Record<string, unknown>>;
}

/** How long a service may take to log `ready` unless told. */
const READY_TIMEOUT_MS = 20_000;

export interface RunOptions {
  readyTimeoutMs?: number;
  /**
   * Run it in its own process group, so that a Ctrl-C reaches only the script, which must then stop it. For
   * a script that stops its services in order, each once; without it they also get the terminal's signal.
   */
  detached?: boolean;
  /** Print the service's output (default); the benchmark reads it without printing. */
  echo?: boolean;
}

/**
 * V8 flags every service runs with (the same in docker/Dockerfile's CMD and the test harness; a deploy check
 * keeps them equal). V8 sizes the young generation from the machine's memory: on a 24 GiB host each service
 * grew a 64–134 MB new space that a chat service's short-lived garbage never needs. 8 MB semi-spaces keep
 * scavenges short and take 20–40 MB off each service's resident memory (docs/benchmarks.md).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8'];

/** Starts a built service with `env`, its output prefixed with its name. */
export function run(
  app: App,
  env: NodeJS.ProcessEnv,
  { readyTimeoutMs = READY_TIMEOUT_MS, detached = false, echo = true }: RunOptions = {},
): Running {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, builtMain(app)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${app} was not ready within ${readyTimeoutMs} ms (its log is above)`)),
      readyTimeoutMs,
    );
    child.once('error', (error) => reject(new Error(`cannot start ${app}: ${error.message}`)));
    // `close`, not `exit`: its last log lines (usually the reason) are printed by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${app} ${describeEnd(code, signal)} before it was ready`));
    });
    const onLine = (line: string) => {
      const record = line.includes('"ready"') ? jsonLine(line) : undefined;
      if (record?.msg !== 'ready') return;
      clearTimeout(timer);
      resolve(record);
    };
    printLines(app, child.stdout!, onLine, echo);
    printLines(app, child.stderr!, onLine, echo);
  });
  // Callers may watch the child's end instead; an unobserved rejection must not crash the script.
  ready.catch(() => undefined);
  return { app, child, ready };
}

function jsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** "exited with code 1" or "was killed by SIGKILL". */
export function describeEnd(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves when the process has exited. */
export function stop(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
