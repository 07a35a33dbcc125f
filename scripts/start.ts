/**
 * `npm start`: the whole product on one machine. Checks that the ports it needs are free, starts redis-server
 * when none answers at PARLEY_REDIS_URL and nats-server when none answers at NATS_URL, builds, starts llm-sim
 * when no model is configured (neither PARLEY_UPSTREAM_BASE_URL nor PARLEY_MODELS_FILE), then inference,
 * responder and gateway, and prints the URL and where the API key is. Ctrl-C stops everything it started,
 * gateway first, then NATS, and Redis last.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { ROOT, STATE_DIR, describeEnd, localApiKey, localSecret, printPrefixed, run, stop, type App } from './local.ts';

const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const NATS_READY_TIMEOUT_MS = 10_000;
/** The gateway's shared counters (rate limits, budgets, concurrency leases); its default PARLEY_REDIS_URL. */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Includes loading the append-only file of .parley/redis. */
const REDIS_READY_TIMEOUT_MS = 10_000;
/** The first start of a service includes loading Nest and connecting to NATS. */
const SERVICE_READY_TIMEOUT_MS = 30_000;
const DEFAULT_SIM_PORT = 8000;
const DEFAULT_SIM_HOST = '127.0.0.1';
/** llm-sim's model name unless LLM_SIM_MODEL says otherwise. */
const DEFAULT_SIM_MODEL = 'sim-model';
const DEFAULT_GATEWAY_PORT = 3000;
const DEFAULT_GATEWAY_HOST = '0.0.0.0';
/**
 * The responder's operations port (libs/config's default); inference's is the next one. Both read
 * PARLEY_OPS_PORT, so when it is set here the responder gets that port and inference the one after it.
 */
const DEFAULT_OPS_PORT = 9101;
/** The operations server's bind address (libs/messaging's ops-server). */
const OPS_HOST = '0.0.0.0';

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
    if (children.length > 0) say('stopping…');
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

/** A port a service started here will listen on, and the variables that set it. */
interface Listener {
  port: number;
  host: string;
  /** The variable to change when the port is taken. */
  variable: string;
  hostVariable?: string;
  /** Said after "set <variable> to a free port". */
  hint?: string;
}

/** A port variable's value: its default when unset or empty; a value the services would refuse stops here. */
function portOf(variable: string, fallback: number): number {
  const value = env[variable];
  if (value === undefined || value === '') return fallback;
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(port <= 65_535)) throw new Error(`${variable} must be a port number from 0 to 65535 (got "${value}")`);
  return port;
}

/**
 * The operations ports of responder and inference. Both services read PARLEY_OPS_PORT, so one value for both
 * would collide on one machine: the responder gets it and inference the next port (0: any free port each).
 */
function opsPorts(): { responder: number; inference: number } {
  const base = portOf('PARLEY_OPS_PORT', DEFAULT_OPS_PORT);
  if (base === 65_535) throw new Error('PARLEY_OPS_PORT must be below 65535: inference gets the port after it');
  return base === 0 ? { responder: 0, inference: 0 } : { responder: base, inference: base + 1 };
}

/** Every port this script's services will listen on, with the variable that moves it. */
function listeners(startSim: boolean, ops: { responder: number; inference: number }): Listener[] {
  const opsHint = '(npm start gives that port to the responder and the next one to inference)';
  return [
    ...(startSim
      ? [
          {
            port: portOf('LLM_SIM_PORT', DEFAULT_SIM_PORT),
            host: env.LLM_SIM_HOST || DEFAULT_SIM_HOST,
            variable: 'LLM_SIM_PORT',
            hostVariable: 'LLM_SIM_HOST',
            hint: '(or, if a model server listens there, PARLEY_UPSTREAM_BASE_URL to its /v1 URL)',
          },
        ]
      : []),
    { port: ops.responder, host: OPS_HOST, variable: 'PARLEY_OPS_PORT', hint: opsHint },
    { port: ops.inference, host: OPS_HOST, variable: 'PARLEY_OPS_PORT', hint: opsHint },
    {
      port: portOf('PORT', DEFAULT_GATEWAY_PORT),
      host: env.HOST || DEFAULT_GATEWAY_HOST,
      variable: 'PORT',
      hostVariable: 'HOST',
    },
  ];
}

/** Binds and releases the port as the service will; resolves with the error code when that fails. */
function tryListen(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Fails, in one line naming the variable to change, when a port the services need is taken (or two of them
 * would share one), before anything is built or started.
 */
async function checkPorts(wanted: Listener[]): Promise<void> {
  const fixed = wanted.filter((l) => l.port !== 0);
  for (const [i, listener] of fixed.entries()) {
    const other = fixed.slice(0, i).find((l) => l.port === listener.port);
    if (other) {
      throw new Error(`${other.variable} and ${listener.variable} both name port ${listener.port}: change one of them`);
    }
  }
  for (const { port, host, variable, hostVariable, hint } of fixed) {
    const code = await tryListen(port, host);
    const change = `set ${variable} to a free port${hint ? ` ${hint}` : ''}`;
    if (code === undefined) continue;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} is taken: ${change}`);
    if (code === 'EACCES') throw new Error(`port ${port} needs privileges: set ${variable} to a port above 1023`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new Error(`${host} is not an address of this machine: set ${hostVariable ?? variable} to one that is`);
    }
    throw new Error(`cannot listen on ${host}:${port} (${code}): ${change}`);
  }
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

/**
 * What answers at host:port: `server` when the first bytes it sends (after `send`, if given) are what
 * `recognise` accepts; `other` when something else listens there (it said nothing within the timeout, or not
 * the expected thing); `none` when nothing does.
 */
function serverAt(
  host: string,
  port: number,
  { send, recognise }: { send?: string; recognise: (first: string) => boolean },
  timeoutMs = 1_000,
): Promise<'server' | 'other' | 'none'> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let connected = false;
    const done = (answer: 'server' | 'other' | 'none') => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(connected ? 'other' : 'none'));
    socket.once('connect', () => {
      connected = true;
      if (send) socket.write(send);
    });
    socket.once('data', (data) => done(recognise(data.toString('latin1')) ? 'server' : 'other'));
    socket.once('error', () => done(connected ? 'other' : 'none'));
    socket.once('end', () => done('other'));
  });
}

/** A NATS server greets every connection with an `INFO` line. */
const natsAt = (host: string, port: number) => serverAt(host, port, { recognise: (first) => first.startsWith('INFO') });

/** A Redis server answers an inline `PING` with `+PONG`, or with an error (`-NOAUTH` when it wants a password). */
const redisAt = (host: string, port: number) =>
  serverAt(host, port, { send: 'PING\r\n', recognise: (first) => /^[+-]/.test(first) });

/** Uses the NATS server at NATS_URL, or starts one there (JetStream data in .parley/nats) if it is local. */
async function ensureNats(): Promise<void> {
  const configured = (env.NATS_URL ?? DEFAULT_NATS_URL).split(',')[0]!.trim();
  const url = new URL(configured.includes('://') ? configured : `nats://${configured}`);
  const host = url.hostname;
  const port = Number(url.port || 4222);
  // A WebSocket endpoint greets no one before the upgrade: reachable is all that can be checked.
  const answer = url.protocol.startsWith('ws')
    ? (await reachable(host, port))
      ? 'server'
      : 'none'
    : await natsAt(host, port);
  if (answer === 'server') {
    say(`using the NATS server at ${host}:${port}`);
    return;
  }
  if (answer === 'other') {
    throw new Error(`port ${port} is taken by something that is not a NATS server: set NATS_URL to another port`);
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

/** A value for a redis.conf line, every byte escaped (`"\xHH…"`), so that no character of it can break the line. */
function redisConfigString(value: string): string {
  return `"${[...Buffer.from(value, 'utf8')].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('')}"`;
}

/**
 * Uses the Redis server at PARLEY_REDIS_URL, or starts one there (append-only file in .parley/redis) if it is
 * local. The URL's password is never printed: messages name host and port only.
 */
async function ensureRedis(): Promise<void> {
  let url: URL;
  try {
    url = new URL(env.PARLEY_REDIS_URL || DEFAULT_REDIS_URL);
  } catch {
    // Not quoted: the value may hold a password.
    throw new Error('PARLEY_REDIS_URL is not a URL: use redis://[:password@]host:port or rediss://…');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`PARLEY_REDIS_URL must start with redis:// or rediss:// (not ${url.protocol}//)`);
  }
  const host = url.hostname;
  const port = Number(url.port || 6379);
  // A TLS port answers nothing before the handshake: reachable is all that can be checked.
  const answer =
    url.protocol === 'rediss:' ? ((await reachable(host, port)) ? 'server' : 'none') : await redisAt(host, port);
  if (answer === 'server') {
    say(`using the Redis server at ${host}:${port}`);
    return;
  }
  if (answer === 'other') {
    throw new Error(
      `port ${port} is taken by something that is not a Redis server: set PARLEY_REDIS_URL to another port`,
    );
  }
  if (url.protocol === 'rediss:' || !LOOPBACK_HOSTS.has(host)) {
    throw new Error(`no Redis server answers at ${host}:${port} (PARLEY_REDIS_URL)`);
  }
  if (url.username && url.username !== 'default') {
    throw new Error(
      `no Redis server answers at ${host}:${port} (PARLEY_REDIS_URL), and npm start starts one only for a URL ` +
        'without a user name (redis://:password@host:port)',
    );
  }

  const dataDir = join(STATE_DIR, 'redis');
  mkdirSync(dataDir, { recursive: true });
  say(`no Redis server at ${host}:${port}: starting redis-server with data in .parley/redis`);
  const password = decodeURIComponent(url.password);
  // Counters survive a restart (append-only file, no snapshots). Its own process group, like NATS's, so
  // that Ctrl-C stops it only after the gateway.
  const args = ['-', '--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir];
  const child = spawn('redis-server', [...args, '--appendonly', 'yes', '--save', ''], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  children.push({ name: 'redis-server', child });
  // `-` reads more configuration from stdin: the password goes in there, never into the process list.
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(password ? `requirepass ${redisConfigString(password)}\n` : '');
  // Its start-up lines are noise unless it fails to start; then they are shown without the password (a
  // configuration error quotes the line). Afterwards only its warnings (` # `) are shown, and nothing of its
  // own shutdown.
  const secrets = password ? [password, redisConfigString(password)] : [];
  const redact = (line: string) => secrets.reduce((text, secret) => text.split(secret).join('…'), line);
  const startup: string[] = [];
  let started = false;
  let onReady = () => {};
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (started) return stopping || !line.includes(' # ') ? undefined : printPrefixed('redis-server', redact(line));
      startup.push(redact(line));
      // Logged once it listens and has loaded the append-only file.
      if (line.includes('Ready to accept connections')) onReady();
    });
  }
  url.hostname = '127.0.0.1';
  env.PARLEY_REDIS_URL = url.toString();

  await new Promise<void>((resolve, reject) => {
    const tail = () => startup.slice(-10).join('\n') || '(no output)';
    const timer = setTimeout(
      () => reject(new Error(`redis-server was not ready within ${REDIS_READY_TIMEOUT_MS} ms:\n${tail()}`)),
      REDIS_READY_TIMEOUT_MS,
    );
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    onReady = () => settle();
    child.once('error', () => settle(new Error('redis-server is not installed: apt-get install -y redis-server')));
    child.once('close', (code, signal) =>
      settle(new Error(`redis-server ${describeEnd(code, signal)} while starting:\n${tail()}`)),
    );
  });
  started = true;
  watch('redis-server', child);
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
  // With neither a model server nor a routing file, llm-sim stands in for the model.
  const startSim = !env.PARLEY_UPSTREAM_BASE_URL && !env.PARLEY_MODELS_FILE;
  const ops = opsPorts();
  await checkPorts(listeners(startSim, ops));

  // Redis first: stopped last, after the gateway that keeps its counters there.
  await ensureRedis();
  await ensureNats();
  say('building…');
  await build();

  if (startSim) {
    const simPort = String(portOf('LLM_SIM_PORT', DEFAULT_SIM_PORT));
    const sim = await startService('llm-sim', { ...env, LLM_SIM_PORT: simPort });
    env.PARLEY_UPSTREAM_BASE_URL = `${String(sim.url)}/v1`;
    env.PARLEY_UPSTREAM_MODEL = env.LLM_SIM_MODEL || DEFAULT_SIM_MODEL;
    say(`No model configured: using apps/llm-sim (simulated replies) at ${String(sim.url)}`);
    say(
      'For a real model set PARLEY_UPSTREAM_BASE_URL, PARLEY_UPSTREAM_MODEL and PARLEY_UPSTREAM_API_KEY, or PARLEY_MODELS_FILE.',
    );
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
  const port = String(portOf('PORT', DEFAULT_GATEWAY_PORT));
  if (!env.PARLEY_WIDGET_KEYS) {
    const { key } = localSecret('widget-key', () => `pk_local_${randomBytes(16).toString('hex')}`);
    env.PARLEY_WIDGET_KEYS = `${key}=http://localhost:${port}|http://127.0.0.1:${port}`;
  }
  env.PARLEY_VISITOR_TOKEN_SECRET ??= localSecret('visitor-token-secret', () =>
    randomBytes(32).toString('base64url'),
  ).key;

  const [inference] = await Promise.all([
    startService('inference', { ...env, PARLEY_OPS_PORT: String(ops.inference) }),
    startService('responder', { ...env, PARLEY_OPS_PORT: String(ops.responder) }),
  ]);
  const gateway = await startService('gateway');
  const url = `http://localhost:${String(gateway.port ?? port)}`;
  // Inference's ready line lists the model aliases it serves (from the routing file or PARLEY_UPSTREAM_*).
  const models = Array.isArray(inference.models) ? inference.models.map(String) : [];
  const model = models[0] ?? env.PARLEY_MODEL_ALIAS ?? env.PARLEY_UPSTREAM_MODEL ?? DEFAULT_SIM_MODEL;
  const keyFile = env.PARLEY_API_KEYS_FILE;
  process.stdout.write(
    [
      '',
      `  Parley is running at ${url}  (the demo page, with the chat widget)`,
      `  API key: ${localKey ? 'in .parley/api-key' : keyFile ? `one of those in ${keyFile}` : 'one of PARLEY_API_KEYS'}`,
      `  Models: ${models.length > 0 ? models.join(', ') : model}`,
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
