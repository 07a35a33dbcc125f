import { Counter, type Gauge, type Histogram } from 'prom-client';
import { activeStreams, latencyHistogram, type Registry } from '@parley/tracing';

type Labels = 'model' | 'target';

/** What inference measures of every generation, by model alias and target. */
export class GenerationMetrics {
  readonly timeToFirstToken: Histogram<Labels>;
  readonly interTokenLatency: Histogram<Labels>;
  readonly tokens: Counter<Labels | 'direction'>;
  readonly active: Gauge;

  constructor(registry: Registry) {
    const labelNames = ['model', 'target'] as const;
    this.timeToFirstToken = latencyHistogram(registry, {
      name: 'parley_time_to_first_token_seconds',
      help: 'From the start of a generation to its first token (retries and fallbacks included)',
      labelNames,
    });
    this.interTokenLatency = latencyHistogram(registry, {
      name: 'parley_inter_token_latency_seconds',
      help: 'Between consecutive content chunks of a stream',
      labelNames,
    });
    this.tokens = new Counter({
      name: 'parley_tokens_total',
      help: 'Tokens by model, target and direction (input or output), as the upstream reported them',
      labelNames: ['model', 'target', 'direction'] as const,
      registers: [registry],
    });
    this.active = activeStreams(registry, 'Generations in progress');
  }
}
