import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

let server: NatsServerHandle | undefined;
let nc: NatsConnection | undefined;

afterEach(async () => {
  await nc?.close();
  await server?.stop();
  nc = undefined;
  server = undefined;
});

/** Resolves on the client's next reconnect; start it before the server goes away. */
async function nextReconnect(connection: NatsConnection): Promise<void> {
  for await (const status of connection.status()) if (status.type === 'reconnect') return;
}

async function storeOne(connection: NatsConnection, text: string): Promise<void> {
  await (await jetstreamManager(connection)).streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
  await jetstream(connection).publish('harness.one', text);
}

async function readOne(connection: NatsConnection): Promise<string | undefined> {
  const message = await (await jetstreamManager(connection)).streams.getMessage('HARNESS', { seq: 1 });
  return message?.string();
}

describe('nats-server harness', () => {
  it('nats-server - accepts connections on its own port of 127.0.0.1, with JetStream', async () => {
    server = await startNatsServer();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(4222);
    nc = await connect({ servers: server.url });
    await storeOne(nc, 'hello');
    expect(await readOne(nc)).toBe('hello');
  });

  it('nats-server - restart keeps the port and the JetStream data, and a connected client reconnects', async () => {
    server = await startNatsServer();
    const { port } = server;
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    await storeOne(nc, 'kept');
    const reconnected = nextReconnect(nc);
    await server.restart();
    await reconnected;
    expect(server.port).toBe(port);
    expect(await readOne(nc)).toBe('kept');
  });

  it('nats-server - stop with keepStore, then restart, finds the data again', async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    await storeOne(nc, 'kept');
    await nc.close();
    await server.stop({ keepStore: true });
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await server.restart();
    nc = await connect({ servers: server.url });
    expect(await readOne(nc)).toBe('kept');
  });

  it('nats-server - the final stop is idempotent, frees the port and removes the store', async () => {
    const stopped = await startNatsServer();
    await stopped.stop();
    await stopped.stop();
    expect(existsSync(stopped.storeDir)).toBe(false);
    await expect(connect({ servers: stopped.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await expect(stopped.restart()).rejects.toThrow(/stopped for good/);
  });

  it('nats-server - a missing binary fails with the install hint', async () => {
    await expect(startNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toThrow(
      /ENOENT.*apt-get install -y nats-server/,
    );
  });
});
