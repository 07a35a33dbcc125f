/**
 * One NATS connection per service process, shared by the Nest transport, JetStream and turn subscriptions.
 * It reconnects forever and notices a dead server within seconds, so readiness can follow the connection.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsConnected, natsReconnects, type Logger, type Registry } from '@parley/tracing';
import { BatchedPublisher } from './batched-publisher.js';

/**
 * Client pings every PING_INTERVAL_MS; MAX_PINGS_OUT unanswered pings mark the server dead, so a frozen server
 * (alive TCP, nothing answered) is noticed within (MAX_PINGS_OUT + 1) × PING_INTERVAL_MS = 1.5 s, and
 * readiness and the gateway's refusals follow it. A ping is a few bytes; two a second cost nothing.
 */
const PING_INTERVAL_MS = 500;
const MAX_PINGS_OUT = 2;
const RECONNECT_WAIT_MS = 500;

export interface NatsHandle {
  readonly nc: NatsConnection;
  /** Publishing for token and frame streams: the first at once, the rest with the others of a loop turn. */
  readonly publisher: BatchedPublisher;
  /** True while connected; false while reconnecting. */
  connected(): boolean;
  /** Calls `listener` each time the connection is lost; returns the function that stops listening. */
  onDisconnect(listener: () => void): () => void;
  /** Stops accepting new messages, lets in-flight handlers finish and flushes, then closes. */
  drain(): Promise<void>;
}

/**
 * Connects to NATS (retrying until the first connection succeeds) and tracks connection state.
 * @example const nats = await connectNats({ url: config.NATS_URL, name: 'gateway', log });
 */
export async function connectNats({
  url,
  name,
  log,
  registry,
}: {
  url: string;
  name: string;
  log: Logger;
  /** Where to count reconnections (`parley_nats_reconnects_total`). */
  registry?: Registry;
}): Promise<NatsHandle> {
  const reconnects = registry ? natsReconnects(registry) : undefined;
  const nc = await connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
  });
  let connected = true;
  const disconnectListeners = new Set<() => void>();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        connected = false;
        log.warn({ server: status.server, code: 'nats_disconnected' }, 'nats disconnected');
        for (const listener of disconnectListeners) listener();
      } else if (status.type === 'reconnect') {
        connected = true;
        reconnects?.inc();
        log.info({ server: status.server }, 'nats reconnected');
      } else if (status.type === 'error') {
        log.error({ err: status.error }, 'nats error');
      }
    }
  })();
  log.info({ server: nc.getServer() }, 'nats connected');
  const isConnected = () => connected && !nc.isClosed();
  if (registry) natsConnected(registry, isConnected);
  const publisher = new BatchedPublisher(nc, log);
  return {
    nc,
    publisher,
    connected: isConnected,
    onDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    async drain() {
      if (nc.isClosed()) return;
      publisher.flush();
      await nc.drain().catch(() => nc.close());
    },
  };
}
