/**
 * `npm start`: the whole product on one machine. Builds, starts nats-server when none answers at NATS_URL,
 * llm-sim when no model is configured, then inference, responder and gateway, and prints the URL and key.
 * Ctrl-C stops everything it started, gateway first and NATS last.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { ROOT, STATE_DIR, describeEnd, localApiKey, localSecret, printPrefixed, run, stop, type App } from './local.ts';

const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const NATS_READY_TIMEOUT_MS = 10_000;
/** The first start of a service includes loading Nest and connecting to NATS. */
const SERVICE_READY_TIMEOUT_MS = 30_000;
const DEFAULT_SIM_PORT = '8000';
/** llm-sim's model name unless LLM_SIM_MODEL says otherwise. */
const DEFAULT_SIM_MODEL = 'sim-model';

const env = { ...process.env };
/** Everything started here, in start order; stopped in reverse. */
const children: { name: string; child: ChildProcess }[] = [];
let stopping: Promise<never> | undefined;

function say(line: string): void {
  printPrefixed('parley', line);
}

/** Stops every child, last started first, then exits; later calls wait for the first. */
function shutdown(code: number, reason?: string): Promise<never> {
  stopping ??= (async () => {
    if (reason) say(reason);
    say('stopping…');
    for (const { child } of [...children].reverse()) await stop(child);
    process.exit(code);
  })();
  return stopping;
}

/** After start-up, any child that ends on its own takes the product down: a half-running stack misleads. */
function watch(name: string, child: ChildProcess): void {
  child.once('close', (code, signal) => {
    if (!stopping) void shutdown(1, `${name} ${describeEnd(code, signal)} unexpectedly`);
  });
}

function build(): Promise<void> {
  const nx = join(ROOT, 'node_modules/.bin/nx');
  const projects = 'gateway,responder,inference,llm-sim';
  const child = spawn(nx, ['run-many', '-t', 'build', '-p', projects, '--output-style=stream'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push({ name: 'build', child });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${nx} (${error.message}): run npm ci first`)));
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`the build ${describeEnd(code, signal)} (its output is above)`)),
    );
  });
}

function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Uses the NATS server at NATS_URL, or starts one there (JetStream data in .parley/nats) if it is local. */
async function ensureNats(): Promise<void> {
  const configured = (env.NATS_URL ?? DEFAULT_NATS_URL).split(',')[0]!.trim();
  const url = new URL(configured.includes('://') ? configured : `nats://${configured}`);
  const host = url.hostname;
  const port = Number(url.port || 4222);
  if (await reachable(host, port)) {
    say(`using the NATS server at ${host}:${port}`);
    return;
  }
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`no NATS server answers at ${host}:${port} (NATS_URL)`);

  const storeDir = join(STATE_DIR, 'nats');
  mkdirSync(storeDir, { recursive: true });
  say(`no NATS server at ${host}:${port}: starting nats-server with JetStream data in .parley/nats`);
  // Its own process group, like the services, so that Ctrl-C does not stop NATS before the services drain.
  const child = spawn('nats-server', ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  children.push({ name: 'nats-server', child });
  // Its start-up banner is noise unless it fails to start; afterwards its warnings and errors are shown.
  const startup: string[] = [];
  let started = false;
  createInterface({ input: child.stderr! }).on('line', (line) =>
    started ? printPrefixed('nats-server', line) : startup.push(line),
  );
  env.NATS_URL = `nats://127.0.0.1:${port}`;

  await new Promise<void>((resolve, reject) => {
    const tail = () => startup.slice(-10).join('\n') || '(no output)';
    child.once('error', () => reject(new Error('nats-server is not installed: apt-get install -y nats-server')));
    child.once('close', (code, signal) =>
      reject(new Error(`nats-server ${describeEnd(code, signal)} while starting:\n${tail()}`)),
    );
    const deadline = Date.now() + NATS_READY_TIMEOUT_MS;
    const poll = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (await reachable('127.0.0.1', port, 200)) return resolve();
      if (Date.now() > deadline) {
        return reject(
          new Error(`nats-server did not accept connections within ${NATS_READY_TIMEOUT_MS} ms:\n${tail()}`),
        );
      }
      setTimeout(() => void poll(), 100);
    };
    void poll();
  });
  started = true;
  watch('nats-server', child);
}

/** Starts a built service and resolves with its ready log line; watches it from then on. */
async function startService(app: App, serviceEnv = env): Promise<Record<string, unknown>> {
  const { child, ready } = run(app, serviceEnv, { readyTimeoutMs: SERVICE_READY_TIMEOUT_MS, detached: true });
  children.push({ name: app, child });
  const record = await ready;
  watch(app, child);
  return record;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  // Repeats are ignored: npm forwards Ctrl-C too, so one keypress can arrive twice. Stuck services get
  // SIGKILL after a grace period anyway.
  process.on(signal, () => void shutdown(0));
}

try {
  say('building…');
  await build();
  await ensureNats();

  if (!env.PARLEY_UPSTREAM_BASE_URL) {
    const sim = await startService('llm-sim', { ...env, LLM_SIM_PORT: env.LLM_SIM_PORT ?? DEFAULT_SIM_PORT });
    env.PARLEY_UPSTREAM_BASE_URL = `${String(sim.url)}/v1`;
    env.PARLEY_UPSTREAM_MODEL = env.LLM_SIM_MODEL ?? DEFAULT_SIM_MODEL;
    say(`No model configured: using apps/llm-sim (simulated replies) at ${String(sim.url)}`);
    say('For a real model set PARLEY_UPSTREAM_BASE_URL, PARLEY_UPSTREAM_MODEL and PARLEY_UPSTREAM_API_KEY.');
  }

  // No key is ever printed, not even the local one: the output may end up in a log or a shared screen. The
  // example reads it from its file.
  let localKey = false;
  if (!env.PARLEY_API_KEYS && !env.PARLEY_API_KEYS_FILE) {
    const { key, created } = localApiKey();
    env.PARLEY_API_KEYS = key;
    localKey = true;
    if (created) say('generated an API key for local use in .parley/api-key');
  }

  // The demo page's widget: a public key for this machine's own origins, and a stable visitor-token secret so
  // visitors keep their conversations across restarts.
  const port = env.PORT ?? '3000';
  if (!env.PARLEY_WIDGET_KEYS) {
    const { key } = localSecret('widget-key', () => `pk_local_${randomBytes(16).toString('hex')}`);
    env.PARLEY_WIDGET_KEYS = `${key}=http://localhost:${port}|http://127.0.0.1:${port}`;
  }
  env.PARLEY_VISITOR_TOKEN_SECRET ??= localSecret('visitor-token-secret', () =>
    randomBytes(32).toString('base64url'),
  ).key;

  const [inference] = await Promise.all([startService('inference'), startService('responder')]);
  const gateway = await startService('gateway');
  const url = `http://localhost:${String(gateway.port ?? env.PORT ?? 3000)}`;
  const model = String(inference.model ?? env.PARLEY_MODEL_ALIAS ?? env.PARLEY_UPSTREAM_MODEL);
  process.stdout.write(
    [
      '',
      `  Parley is running at ${url}  (the demo page, with the chat widget)`,
      `  API key: ${localKey ? 'in .parley/api-key' : 'the one you configured'}`,
      '',
      '  Try it:',
      `    curl -N ${url}/v1/chat/completions \\`,
      `      -H "Authorization: Bearer ${localKey ? '$(cat .parley/api-key)' : '<your API key>'}" \\`,
      `      -H 'Content-Type: application/json' \\`,
      `      -d '{"model":"${model}","stream":true,"messages":[{"role":"user","content":"Hello"}]}'`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (error) {
  await shutdown(1, `start failed: ${(error as Error).message}`);
}
