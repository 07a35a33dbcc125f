/**
 * Metrics shared by services: NATS reconnects and open streams. Labels stay bounded: models, targets,
 * routes and status codes, never user, conversation or turn ids.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Buckets for latencies of LLM streams, in seconds: 5 ms to 30 s. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function natsReconnects(registry: Registry): Counter {
  return new Counter({ name: 'parley_nats_reconnects_total', help: 'Reconnections to NATS', registers: [registry] });
}

/** 1 while connected to NATS, 0 while reconnecting (read at scrape time). */
export function natsConnected(registry: Registry, connected: () => boolean): Gauge {
  return new Gauge({
    name: 'parley_nats_connected',
    help: '1 while connected to NATS, 0 while cut off',
    registers: [registry],
    collect() {
      this.set(connected() ? 1 : 0);
    },
  });
}

export function activeStreams(registry: Registry, help: string): Gauge {
  return new Gauge({ name: 'parley_active_streams', help, registers: [registry] });
}

export function latencyHistogram<L extends string>(
  registry: Registry,
  { name, help, labelNames }: { name: string; help: string; labelNames: readonly L[] },
): Histogram<L> {
  return new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS_S, registers: [registry] });
}
