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
