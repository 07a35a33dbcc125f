// The local scripts. `npm start` (scripts/start.ts) checks the ports its services need before it builds or
// starts anything: a taken one is a single line naming the variable to change and exit status 1, not a
// service's stack trace. It uses the Redis at PARLEY_REDIS_URL or starts redis-server there, and never prints
// the URL's password. `nx serve` (scripts/serve.ts) says where the local API key is, never the key.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNatsServer, startRedisServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

let held: Server;
let heldPort: number;

beforeAll(async () => {
  // Held on every interface, as a service would bind it.
  // A connection to it reads to its end, so that close() is not held up by a socket left paused.
  held = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => held.listen(0, '0.0.0.0', resolve));
  heldPort = (held.address() as { port: number }).port;
});
afterAll(() => new Promise((resolve) => held?.close(resolve)));

/** Runs `node scripts/start.ts` to its end with only `env` (and PATH, HOME) set; `started` sees the process. */
function npmStart(
  env: Record<string, string>,
  started?: (child: ChildProcess) => void,
): Promise<{ code: number | null; stdout: string[]; stderr: string }> {
  const child = spawn(process.execPath, ['scripts/start.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: stdout.split('\n').filter(Boolean), stderr }));
  });
}

/** Listens on `port` of every interface; resolves with the server, or undefined when the port is taken. */
function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

const portOf = (server: Server) => (server.address() as { port: number }).port;
const close = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

/** A port that is free together with the next one (held), as PARLEY_OPS_PORT needs on a busy machine. */
async function freePair(): Promise<Server[]> {
  for (;;) {
    const first = (await listen(0))!;
    const second = await listen(portOf(first) + 1);
    if (second) return [first, second];
    await close([first]);
  }
}

/** Free ports for every listener `npm start` would open (all different), so only the one a test holds is taken. */
async function freePorts(): Promise<Record<string, string>> {
  const sim = (await listen(0))!;
  const gateway = (await listen(0))!;
  const ops = await freePair();
  const ports = { LLM_SIM_PORT: portOf(sim), PARLEY_OPS_PORT: portOf(ops[0]!), PORT: portOf(gateway) };
  await close([sim, gateway, ...ops]);
  return Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)]));
}

describe('npm start', () => {
  it('npm start - a taken gateway port is one line naming PORT, and exit status 1', async () => {
    const result = await npmStart({ ...(await freePorts()), PORT: String(heldPort) });
    expect(result.stdout).toEqual([`parley      | start failed: port ${heldPort} is taken: set PORT to a free port`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
  });

  it("npm start - a taken llm-sim port names LLM_SIM_PORT, and a model server's URL as the other way out", async () => {
    const result = await npmStart({ ...(await freePorts()), LLM_SIM_PORT: String(heldPort) });
    expect(result.stdout).toEqual([
      `parley      | start failed: port ${heldPort} is taken: set LLM_SIM_PORT to a free port (or, if a model server listens there, PARLEY_UPSTREAM_BASE_URL to its /v1 URL)`,
    ]);
    expect(result.code).toBe(1);
  });

  it("npm start - the responder's and inference's operations ports are PARLEY_OPS_PORT and the next one", async () => {
    const hint = '(npm start gives that port to the responder and the next one to inference)';
    const responder = await npmStart({ ...(await freePorts()), PARLEY_OPS_PORT: String(heldPort) });
    expect(responder.stdout).toEqual([
      `parley      | start failed: port ${heldPort} is taken: set PARLEY_OPS_PORT to a free port ${hint}`,
    ]);
    expect(responder.code).toBe(1);
    // Inference's port, the one after PARLEY_OPS_PORT, taken: the responder's is free.
    const ports = await freePorts();
    const [responderPort, inferencePort] = await freePair();
    const [opsPort, taken] = [portOf(responderPort!), portOf(inferencePort!)];
    await close([responderPort!]);
    const inference = await npmStart({ ...ports, PARLEY_OPS_PORT: String(opsPort) });
    await close([inferencePort!]);
    expect(inference.stdout).toEqual([
      `parley      | start failed: port ${taken} is taken: set PARLEY_OPS_PORT to a free port ${hint}`,
    ]);
    expect(inference.code).toBe(1);
  });

  it('npm start - with a routing file or a model server, llm-sim is not started, so its port does not matter', async () => {
    const models: Record<string, string>[] = [
      { PARLEY_MODELS_FILE: 'models.yaml' },
      { PARLEY_UPSTREAM_BASE_URL: 'http://gpu:8000/v1' },
    ];
    for (const model of models) {
      // LLM_SIM_PORT is taken too, but only the gateway's port is reported.
      const result = await npmStart({
        ...(await freePorts()),
        ...model,
        LLM_SIM_PORT: String(heldPort),
        PORT: String(heldPort),
      });
      expect(result.stdout).toEqual([`parley      | start failed: port ${heldPort} is taken: set PORT to a free port`]);
      expect(result.code).toBe(1);
    }
  });

  it('npm start - two services given one port, or a value that is no port, are refused by name', async () => {
    const ports = await freePorts();
    const shared = await npmStart({ ...ports, LLM_SIM_PORT: ports.PORT! });
    expect(shared.stdout).toEqual([
      `parley      | start failed: LLM_SIM_PORT and PORT both name port ${ports.PORT}: change one of them`,
    ]);
    expect(shared.code).toBe(1);
    const bad = await npmStart({ ...ports, PORT: 'eighty' });
    expect(bad.stdout).toEqual([
      'parley      | start failed: PORT must be a port number from 0 to 65535 (got "eighty")',
    ]);
    expect(bad.code).toBe(1);
  });
});

/** Sends raw RESP commands to 127.0.0.1:port and resolves with the first `replies` reply lines. */
function redisSay(port: number, commands: string, replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(2_000, () => {
      socket.destroy();
      reject(new Error(`no ${replies} replies from 127.0.0.1:${port} within 2 s (got ${JSON.stringify(text)})`));
    });
    socket.once('connect', () => socket.write(commands));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\r\n').slice(0, -1);
      if (lines.length < replies) return;
      socket.destroy();
      resolve(lines.slice(0, replies));
    });
    socket.once('error', reject);
  });
}

/** Resolves with the connection's error code ('ECONNREFUSED'), or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('npm start - Redis (PARLEY_REDIS_URL)', () => {
  const PASSWORD = 'pw-that-must-not-be-printed';

  it("npm start - starts redis-server with the URL's password when none answers, and stops it on the way out", async () => {
    const port = await freePort();
    // A silent "NATS" server: once the script connects to it, Redis is up; the script is frozen while the
    // test talks to Redis, then finds this is no NATS server and stops.
    const fakeNats = (await listen(0))!;
    const natsPort = portOf(fakeNats);
    let checks: Promise<string[][]> | undefined;
    let script: ChildProcess | undefined;
    fakeNats.once('connection', (socket) => {
      socket.resume();
      script!.kill('SIGSTOP');
      checks = Promise.all([
        redisSay(port, 'PING\r\n', 1),
        redisSay(port, `AUTH ${PASSWORD}\r\nSET parley:local-scripts ok\r\nGET parley:local-scripts\r\n`, 4),
      ]).finally(() => script!.kill('SIGCONT'));
    });
    const result = await npmStart(
      {
        ...(await freePorts()),
        PARLEY_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}`,
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
      },
      (child) => (script = child),
    );
    await close([fakeNats]);
    expect(checks).toBeDefined();
    const [unauthenticated, authenticated] = await checks!;
    expect(unauthenticated![0]).toMatch(/^-NOAUTH/);
    expect(authenticated).toEqual(['+OK', '+OK', '$2', 'ok']);
    expect(result.stdout).toEqual([
      `parley      | no Redis server at 127.0.0.1:${port}: starting redis-server with data in .parley/redis`,
      `parley      | start failed: port ${natsPort} is taken by something that is not a NATS server: set NATS_URL to another port`,
      'parley      | stopping…',
    ]);
    expect(result.code).toBe(1);
    // Stopped, with its append-only file kept for the next start.
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(existsSync(join(ROOT, '.parley/redis/appendonlydir'))).toBe(true);
  });

  it('npm start - uses the Redis server that answers at PARLEY_REDIS_URL', async () => {
    const redis = await startRedisServer();
    try {
      const result = await npmStart({
        ...(await freePorts()),
        PARLEY_REDIS_URL: redis.url,
        NATS_URL: 'nats://nats.invalid:4222',
      });
      expect(result.stdout).toEqual([
        `parley      | using the Redis server at 127.0.0.1:${redis.port}`,
        'parley      | start failed: no NATS server answers at nats.invalid:4222 (NATS_URL)',
      ]);
      expect(result.code).toBe(1);
      expect(await redisSay(redis.port, 'PING\r\n', 1)).toEqual(['+PONG']);
    } finally {
      await redis.stop();
    }
  });

  it('npm start - a missing redis-server, something else on its port, or no Redis on another host: one line each, no password', async () => {
    const port = String(await freePort());
    const missing = await npmStart({
      ...(await freePorts()),
      PATH: '/nonexistent',
      PARLEY_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}`,
    });
    expect(missing.stdout).toEqual([
      `parley      | no Redis server at 127.0.0.1:${port}: starting redis-server with data in .parley/redis`,
      'parley      | start failed: redis-server is not installed: apt-get install -y redis-server',
      'parley      | stopping…',
    ]);
    expect(missing.code).toBe(1);
    const other = await npmStart({ ...(await freePorts()), PARLEY_REDIS_URL: `redis://127.0.0.1:${heldPort}` });
    expect(other.stdout).toEqual([
      `parley      | start failed: port ${heldPort} is taken by something that is not a Redis server: set PARLEY_REDIS_URL to another port`,
    ]);
    expect(other.code).toBe(1);
    const remote = await npmStart({
      ...(await freePorts()),
      PARLEY_REDIS_URL: `redis://:${PASSWORD}@redis.invalid:6379`,
    });
    expect(remote.stdout).toEqual([
      'parley      | start failed: no Redis server answers at redis.invalid:6379 (PARLEY_REDIS_URL)',
    ]);
    expect(remote.code).toBe(1);
    for (const result of [missing, other, remote])
      expect(result.stdout.join('\n') + result.stderr).not.toContain('pw-');
  });
});

describe('nx serve', () => {
  it('nx serve - the gateway is given the local API key and says where it is, never what it is', async () => {
    const nats = await startNatsServer();
    const port = Number((await freePorts()).PORT);
    const child = spawn(process.execPath, ['scripts/serve.ts', 'gateway'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NATS_URL: nats.url, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const closed = new Promise((resolve) => child.once('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('"msg":"ready"')) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void closed.then(() => reject(new Error(`serve ended before the gateway was ready:\n${output}`)));
      });
      // The key in the file is the one the gateway was given (no inference runs, so past auth it is a 503).
      const key = readFileSync(join(ROOT, '.parley/api-key'), 'utf8').trim();
      const models = (bearer: string) =>
        fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${bearer}` } });
      expect((await models(`${key}x`)).status).toBe(401);
      expect((await models(key)).status).toBe(503);
      expect(output).toContain('the API key for local use is in .parley/api-key');
      expect(output).not.toContain(key);
      expect(output).not.toContain(key.slice(-8));
    } finally {
      child.kill('SIGTERM');
      await closed;
      await nats.stop();
    }
  });
});
