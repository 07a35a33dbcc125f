/**
 * A real nats-server with JetStream for tests: on a free port, with its own store directory, stopped and
 * restarted on the same port and store to prove that data survives and clients reconnect.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './ports.js';
import { launchOnFreePort, launchServer, stopServer, type ServerProcess } from './server-process.js';

/** How long nats-server may take to log "Server is ready", JetStream recovery included. */
const READY_TIMEOUT_MS = 10_000;
/** How long a cluster may take to start and elect its JetStream leader. */
const CLUSTER_READY_TIMEOUT_MS = 20_000;
/** Pause between JetStream availability checks while a cluster elects its leader. */
const JETSTREAM_POLL_MS = 100;

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
  /** Kills the server with SIGKILL (a crash: no goodbye to clients) and waits for it to exit; the store stays. */
  kill(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port and store directory. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP), as an overloaded one: connections stay open and nothing is answered. */
  pause(): void;
  /** Thaws a paused server. */
  resume(): void;
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
  let running: ServerProcess | undefined;
  let port: number;
  try {
    ({ port, running } = await launchOnFreePort(
      (port) => launch({ binary, port, args: serverArgs(port, storeDir), readyTimeoutMs }),
      'address already in use',
    ));
  } catch (error) {
    rmSync(storeDir, { recursive: true, force: true });
    throw error;
  }

  let final = false;
  const stopProcess = async (signal?: 'SIGKILL') => {
    const current = running;
    running = undefined;
    if (current) await stopServer(current, signal);
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
    async kill() {
      await stopProcess('SIGKILL');
    },
    async restart() {
      if (final) throw new Error(`the nats-server of port ${port} was stopped for good: start a new one`);
      await stopProcess();
      running = await launch({ binary, port, args: serverArgs(port, storeDir), readyTimeoutMs });
    },
    pause() {
      running?.child.kill('SIGSTOP');
    },
    resume() {
      running?.child.kill('SIGCONT');
    },
  };
}

export interface NatsClusterHandle {
  /** One `nats://127.0.0.1:<port>` per server; give a client all of them. */
  readonly urls: string[];
  /** Stops one server (a node failure); the others keep running. */
  stopNode(index: number): Promise<void>;
  /** Stops every server and removes their stores. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers with JetStream as one cluster (routes between all of them, like the StatefulSet in
 * k8s/) and resolves once the cluster's JetStream has a leader and accepts replicated streams.
 *
 * @throws Error when a server cannot start or JetStream is not available within the timeout.
 */
export async function startNatsCluster({
  size = 3,
  binary = 'nats-server',
  readyTimeoutMs = CLUSTER_READY_TIMEOUT_MS,
}: NatsServerOptions & { size?: number } = {}): Promise<NatsClusterHandle> {
  const ports = await distinctFreePorts(size * 2);
  const nodes = Array.from({ length: size }, (_, i) => ({
    port: ports[i]!,
    clusterPort: ports[size + i]!,
    storeDir: mkdtempSync(join(tmpdir(), 'parley-nats-')),
  }));
  const routes = nodes.map((node) => `nats://127.0.0.1:${node.clusterPort}`).join(',');
  const started = await Promise.allSettled(
    nodes.map((node, i) =>
      launch({
        binary,
        port: node.port,
        readyTimeoutMs,
        args: [
          ...serverArgs(node.port, node.storeDir),
          ...['--name', `parley-test-${i}`, '--cluster_name', 'parley-test'],
          ...['--cluster', `nats://127.0.0.1:${node.clusterPort}`, '--routes', routes],
        ],
      }),
    ),
  );
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(running.map((node) => stopServer(node)));
    for (const node of nodes) rmSync(node.storeDir, { recursive: true, force: true });
  };
  const urls = nodes.map((node) => `nats://127.0.0.1:${node.port}`);
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await waitForJetStream(urls, readyTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls,
    stopNode: async (index) => {
      const node = running[index];
      if (!node) throw new Error(`the cluster has no server ${index}`);
      await stopServer(node);
    },
    stop,
  };
}

/** Resolves once a replicated stream can be created (the meta leader is elected and peers are known). */
async function waitForJetStream(urls: string[], timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: urls, timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  try {
    while (Date.now() < deadline) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        await jsm.streams.add({ name: 'HARNESS_READY', subjects: ['harness.ready'], num_replicas: urls.length });
        await jsm.streams.delete('HARNESS_READY');
        return;
      } catch (error) {
        last = error;
        await delay(JETSTREAM_POLL_MS);
      }
    }
    throw new Error(`the nats cluster's JetStream was not ready within ${timeoutMs} ms: ${String(last)}`);
  } finally {
    await nc.close();
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function serverArgs(port: number, storeDir: string): string[] {
  return ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
}

/** nats-server logs "Server is ready" once the client port listens and JetStream has recovered its streams. */
function launch({
  binary,
  port,
  args,
  readyTimeoutMs,
}: {
  binary: string;
  port: number;
  args: string[];
  readyTimeoutMs: number;
}): Promise<ServerProcess> {
  return launchServer({
    binary,
    args,
    port,
    readyLine: 'Server is ready',
    readyTimeoutMs,
    debianPackage: 'nats-server',
  });
}

/**
 * Servers started one after another by a test file, each with a client connection, and stopped together
 * (connections first) when the file is done: for tests that move data from one server to a new one.
 * @example const pool = new NatsServerPool(); afterAll(() => pool.stop()); const { server, nc } = await pool.start();
 */
export class NatsServerPool {
  private readonly servers: NatsServerHandle[] = [];
  private readonly connections: NatsConnection[] = [];

  /** A new server with nothing stored, and a connection to it. */
  async start(): Promise<{ server: NatsServerHandle; nc: NatsConnection }> {
    const server = await startNatsServer();
    this.servers.push(server);
    const nc = await connect({ servers: server.url });
    this.connections.push(nc);
    return { server, nc };
  }

  /** Closes every connection and stops every server for good. */
  async stop(): Promise<void> {
    for (const nc of this.connections) await nc.close();
    for (const server of this.servers) await server.stop();
  }
}
