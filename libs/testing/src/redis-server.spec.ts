// startRedisServer: a real redis-server on a free port, talked to over TCP with ioredis. Without
// persistence a restart forgets everything; with `appendonly` a key survives a restart and a SIGKILL; a
// stopped server frees its port and its data directory; a paused one answers nothing until resumed.
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

const servers: RedisServerHandle[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  for (const server of servers.splice(0)) await server.stop();
});

async function start(options?: Parameters<typeof startRedisServer>[0]): Promise<RedisServerHandle> {
  const server = await startRedisServer(options);
  servers.push(server);
  return server;
}

/** A client that fails a command after 2 s instead of queueing it while disconnected. */
function client(server: RedisServerHandle, commandTimeout = 2_000): Redis {
  const redis = new Redis(server.url, { commandTimeout, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  clients.push(redis);
  return redis;
}

/** Resolves with the connection's error code ('ECONNREFUSED'), or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A client that has its connection up (ioredis connects in the background). */
async function ready(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('end', () => reject(new Error('the connection ended before it was ready')));
    });
  }
  return redis;
}

describe('startRedisServer', () => {
  it('redis-server - answers SET and GET over TCP at its url, on its own port, not 6379', async () => {
    const server = await start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.port).not.toBe(6379);
    const redis = await ready(client(server));
    expect(await redis.set('parley:test', 'one')).toBe('OK');
    expect(await redis.get('parley:test')).toBe('one');
    expect(await redis.incrby('parley:counter', 5)).toBe(5);
  });

  it('redis-server - without appendonly, writes no file and a restart on the same port forgets every key', async () => {
    const server = await start();
    await (await ready(client(server))).set('parley:test', 'one');
    await server.restart();
    expect(await tryConnect(server.port)).toBe('connected');
    expect(await (await ready(client(server))).get('parley:test')).toBeNull();
    expect(readdirSync(server.dataDir)).toEqual([]);
  });

  it('redis-server - with appendonly, a key survives a restart and a SIGKILL', async () => {
    const server = await start({ appendonly: true });
    const first = await ready(client(server));
    await first.set('parley:kept', 'across-restart');
    first.disconnect();
    await server.restart();
    const second = await ready(client(server));
    expect(await second.get('parley:kept')).toBe('across-restart');
    // Redis writes the append-only file before it replies: a crashed process loses nothing already answered.
    await second.incrby('parley:counter', 7);
    second.disconnect();
    await server.kill();
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    await server.restart();
    const third = await ready(client(server));
    expect(await third.get('parley:kept')).toBe('across-restart');
    expect(await third.get('parley:counter')).toBe('7');
  });

  it('redis-server - stop frees the port and removes the data directory; a restart after it is refused', async () => {
    const server = await start({ appendonly: true });
    await (await ready(client(server))).set('parley:test', 'one');
    expect(existsSync(server.dataDir)).toBe(true);
    await server.stop();
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    expect(existsSync(server.dataDir)).toBe(false);
    await expect(server.restart()).rejects.toThrow(`the redis-server of port ${server.port} was stopped for good`);
    await server.stop();
  });

  it('redis-server - a paused server answers nothing until it is resumed', async () => {
    const server = await start();
    const redis = await ready(client(server, 300));
    server.pause();
    await expect(redis.ping()).rejects.toThrow('Command timed out');
    server.resume();
    expect(await redis.ping()).toBe('PONG');
  });

  it('redis-server - a missing binary is one clear error naming the package', async () => {
    await expect(startRedisServer({ binary: 'redis-server-that-is-not-installed' })).rejects.toThrow(
      /cannot run redis-server-that-is-not-installed \(.*ENOENT\): apt-get install -y redis-server/,
    );
  });
});
