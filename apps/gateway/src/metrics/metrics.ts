import { Counter } from 'prom-client';
import type { Registry } from '@parley/tracing';

/** The gateway's metrics, served on `/metrics`. */
export class GatewayMetrics {
  /** Ratings of replies per model: the raw material for quality monitoring. */
  readonly feedback: Counter<'model' | 'rating'>;

  constructor(readonly registry: Registry) {
    this.feedback = new Counter({
      name: 'parley_feedback_total',
      help: 'Ratings of replies, by model and rating',
      labelNames: ['model', 'rating'] as const,
      registers: [registry],
    });
  }
}
