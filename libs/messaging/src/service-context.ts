import type { Logger, Registry } from '@parley/tracing';
import type { NatsHandle } from './connection.js';
import type { JetStreamHandles } from './jetstream.js';

/** What a service has once it is connected: built before its modules, handed to each. */
export interface ServiceContext {
  log: Logger;
  nats: NatsHandle;
  jetstream: JetStreamHandles;
  /** The service's Prometheus registry, served on the operations port. */
  metrics: Registry;
}

/**
 * Injection tokens of what every service builds before its modules (its configuration, the context and its
 * history store); each service adds its own.
 * @example export const Tokens = { ...ServiceTokens, router: Symbol('router') } as const;
 */
export const ServiceTokens = {
  config: Symbol('config'),
  log: Symbol('log'),
  nats: Symbol('nats'),
  jetstream: Symbol('jetstream'),
  history: Symbol('history'),
  metrics: Symbol('metrics'),
} as const;
