/**
 * `npm start`: the whole product on one machine. Builds, starts nats-server when none answers at NATS_URL,
 * llm-sim when no model is configured, then inference, responder and gateway, and prints the URL and key.
 * Ctrl-C stops everything it started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT, STATE_DIR, localApiKey, run, stop, type Running } from './local.ts';

const env = { ...process.env };
const natsUrl = new URL((env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',')[0]!);
const children: { name: string; child: ChildProcess }[] = [];
let shuttingDown = false;

function say(line: string): void {
  process.stdout.write(`parley    | ${line}\n`);
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

async function startNats(): Promise<void> {
  const host = natsUrl.hostname || '127.0.0.1';
  const port = Number(natsUrl.port || 4222);
  if (await reachable(host, port)) {
    say(`using the NATS server at ${host}:${port}`);
    return;
  }
  const storeDir = join(STATE_DIR, 'nats');
  mkdirSync(storeDir, { recursive: true });
  say(`no NATS server at ${host}:${port}: starting nats-server (JetStream data in .parley/nats)`);
  const child = spawn('nats-server', ['-a', host, '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  children.push({ name: 'nats-server', child });
  await new Promise<void>((resolve, reject) => {
    child.once('error', () => reject(new Error('nats-server is not installed: apt-get install -y nats-server')));
    const deadline = Date.now() + 10_000;
    const poll = async () => {
      if (await reachable(host, port, 200)) return resolve();
      if (Date.now() > deadline) return reject(new Error('nats-server did not start within 10 s'));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

async function started(running: Running): Promise<Record<string, unknown>> {
  children.push({ name: running.app, child: running.child });
  running.child.once('exit', (code, signal) => {
    if (shuttingDown) return;
    say(`${running.app} exited unexpectedly (${signal ?? `code ${code}`}); stopping`);
    void shutdown(1);
  });
  return running.ready;
}

async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    // Reverse order: the gateway stops taking requests first, NATS goes last.
    for (const { child } of children.reverse()) await stop(child);
  }
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  say('building…');
  execFileSync(join(ROOT, 'node_modules/.bin/nx'), ['run-many', '-t', 'build', '--output-style=static'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await startNats();

  if (!env.PARLEY_UPSTREAM_BASE_URL) {
    const sim = await started(run('llm-sim', { ...env, LLM_SIM_PORT: env.LLM_SIM_PORT ?? '8000' }));
    env.PARLEY_UPSTREAM_BASE_URL = `${String(sim.url)}/v1`;
    env.PARLEY_UPSTREAM_MODEL ??= env.LLM_SIM_MODEL ?? 'sim-model';
    say(`no model configured: using apps/llm-sim (simulated replies) at ${String(sim.url)}`);
    say('set PARLEY_UPSTREAM_BASE_URL, PARLEY_UPSTREAM_MODEL (and PARLEY_UPSTREAM_API_KEY) for a real model');
  }

  let shownKey: string | undefined;
  if (!env.PARLEY_API_KEYS && !env.PARLEY_API_KEYS_FILE) {
    const { key, created } = localApiKey();
    env.PARLEY_API_KEYS = key;
    shownKey = key;
    if (created) say('generated an API key for local use in .parley/api-key');
  }

  await Promise.all([started(run('inference', env)), started(run('responder', env))]);
  const gateway = await started(run('gateway', env));
  const url = `http://localhost:${String(gateway.port)}`;
  const model = env.PARLEY_MODEL_ALIAS ?? env.PARLEY_UPSTREAM_MODEL ?? 'sim-model';
  const key = shownKey ?? '<your key>';
  process.stdout.write(
    [
      '',
      `  Parley is running at ${url}`,
      `  API key: ${shownKey ?? '(configured: PARLEY_API_KEYS / PARLEY_API_KEYS_FILE)'}`,
      `  OpenAPI: ${url}/openapi.json`,
      '',
      '  Try it:',
      `    curl -N ${url}/v1/chat/completions -H 'Authorization: Bearer ${key}' \\`,
      `      -H 'Content-Type: application/json' \\`,
      `      -d '{"model":"${model}","stream":true,"messages":[{"role":"user","content":"Hello"}]}'`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (error) {
  say(`start failed: ${(error as Error).message}`);
  await shutdown(1);
}
