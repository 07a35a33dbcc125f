/**
 * What `npm start` and `nx serve` share: the built entry points, the local API key and a readiness wait.
 * Node runs these scripts directly (type stripping), so they import only Node's own modules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const STATE_DIR = join(ROOT, '.parley');
export const APPS = ['gateway', 'responder', 'inference', 'llm-sim'] as const;
export type App = (typeof APPS)[number];

export function mainOf(app: App): string {
  return join(ROOT, 'dist/apps', app, 'apps', app, 'src/main.js');
}

/**
 * The key for local use, kept in `.parley/api-key` (git-ignored, mode 0600) so it survives restarts.
 * Only used when no key is configured.
 */
export function localApiKey(): { key: string; created: boolean } {
  const file = join(STATE_DIR, 'api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(STATE_DIR, { recursive: true });
  const key = `pk-${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}

export interface Running {
  app: App;
  child: ChildProcess;
  /** The parsed `ready` log line. */
  ready: Promise<Record<string, unknown>>;
}

/** Starts a built service, prefixing its output with its name, and resolves `ready` on its ready line. */
export function run(app: App, env: NodeJS.ProcessEnv, { readyTimeoutMs = 20_000 } = {}): Running {
  const child = spawn(process.execPath, [mainOf(app)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${app} was not ready within ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited (${signal ?? `code ${code}`}) before it was ready`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(`${app.padEnd(9)} | ${line}\n`);
        if (!line.includes('"ready"')) return;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record.msg === 'ready') {
            clearTimeout(timer);
            resolve(record);
          }
        } catch {
          // not a JSON line
        }
      });
    }
  });
  ready.catch(() => undefined);
  return { app, child, ready };
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves when the process has exited. */
export function stop(child: ChildProcess, graceMs = 15_000): Promise<void> {
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
