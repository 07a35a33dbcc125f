/**
 * Prometheus metrics with prom-client: one registry per service, with Node's default process metrics and
 * a `service` label on every series.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry };

/** @example const registry = createMetricsRegistry('gateway'); res.type(registry.contentType).send(await registry.metrics()); */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  return registry;
}
