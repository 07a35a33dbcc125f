import { Gauge } from 'prom-client';
import type { Registry } from '@parley/tracing';
import type { Router } from './router.js';
import type { BreakerState, TargetState } from './target-guard.js';

const BREAKER_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

const GAUGES: { name: string; help: string; value: (state: TargetState) => number }[] = [
  {
    name: 'parley_target_breaker_state',
    help: 'Circuit breaker per target: 0 closed, 1 half-open, 2 open, 3 isolated',
    value: (state) => BREAKER_VALUES[state.breaker],
  },
  { name: 'parley_target_in_flight', help: 'Streams in flight per target', value: (state) => state.inFlight },
  { name: 'parley_target_queued', help: 'Streams waiting for a slot per target', value: (state) => state.queued },
];

/** Per-target breaker state, streams in flight and queued, read from the guards at each scrape. */
export function registerTargetMetrics(registry: Registry, router: Router): void {
  for (const { name, help, value } of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['target'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const state of router.targetStates()) this.set({ target: state.target }, value(state));
      },
    });
  }
}
