/**
 * The gateway's Redis connection (ioredis): where every replica's limits are counted. Commands fail fast while
 * it is down (no offline queue, a short timeout), so a request is never held waiting for Redis: the limits
 * then do what `PARLEY_REDIS_DOWN_*` says. Reconnects on its own; each loss and return is one log line and
 * the `parley_redis_up` gauge. The URL's password is never logged.
 */
import { Redis } from 'ioredis';
import type { Logger, Registry } from '@parley/tracing';
import { Gauge } from 'prom-client';

/** How long one command may take before the check falls back. */
const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect attempts back off up to this interval. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export interface RedisHandle {
  client: Redis;
  /** Connected and answering commands. */
  ready(): boolean;
  /** Called each time the connection is (re)established. */
  onReady(listener: () => void): void;
  /** Resolves once connected, or after `timeoutMs` when Redis is not there (the gateway starts anyway). */
  connected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** `host:port` of a Redis URL, for logs: never its password. */
export function redisWhere(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

export function connectRedis(url: string, log: Logger, registry: Registry): RedisHandle {
  const where = redisWhere(url);
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
  });
  const up = new Gauge({
    name: 'parley_redis_up',
    help: 'Whether this gateway can reach Redis, where limits are counted (1) or not (0)',
    registers: [registry],
  });
  up.set(0);
  let wasReady = false;
  const listeners: (() => void)[] = [];
  client.on('ready', () => {
    up.set(1);
    log.info({ redis: where }, wasReady ? 'redis reconnected' : 'redis connected');
    wasReady = true;
    lastError = '';
    for (const listener of listeners) listener();
  });
  let lastError = '';
  client.on('close', () => up.set(0));
  client.on('error', (error: Error) => {
    // ioredis reports each failed reconnect; one line per distinct failure is enough for an operator.
    if (error.message === lastError) return;
    lastError = error.message;
    log.error({ redis: where, code: 'redis_unavailable', reason: error.message }, 'redis unreachable');
  });
  return {
    client,
    ready: () => client.status === 'ready',
    onReady: (listener) => listeners.push(listener),
    connected: (timeoutMs) =>
      new Promise((resolve) => {
        if (client.status === 'ready') return resolve(true);
        const timer = setTimeout(() => resolve(false), timeoutMs);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
