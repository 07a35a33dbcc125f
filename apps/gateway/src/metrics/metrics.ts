import { Counter, type Histogram } from 'prom-client';
import { latencyHistogram, type Registry } from '@parley/tracing';

/** Which route a turn came from: a label with two values. */
export type TurnRoute = 'chat_completions' | 'conversation';

/** The gateway's metrics, served on `/metrics`. */
export class GatewayMetrics {
  /**
   * Ratings of replies by model alias, arm, serving target and rating: the raw material for quality monitoring.
   * A changed rating also counts in `parley_feedback_retracted_total` (feedback/feedback.service.ts).
   */
  readonly feedback: Counter<'model' | 'arm' | 'target' | 'rating'>;
  /**
   * How every turn ended, as the client saw it: `done`, `cancelled`, `client_left` (the client stopped
   * reading; a conversation turn goes on and is stored), or the error code, refusals before the start included.
   * What the error-rate alert and the dashboard's outcome panel read: a failed stream is an HTTP 200.
   */
  readonly turnOutcomes: Counter<'route' | 'model' | 'outcome'>;
  /** From the request reaching the gate to the first token leaving for the client: Parley included. */
  readonly timeToFirstToken: Histogram<'route' | 'model'>;

  constructor(readonly registry: Registry) {
    this.feedback = new Counter({
      name: 'parley_feedback_total',
      help: 'Ratings given to replies (a changed rating counts again, and its old one as retracted), by model, arm, target and rating',
      labelNames: ['model', 'arm', 'target', 'rating'] as const,
      registers: [registry],
    });
    this.turnOutcomes = new Counter({
      name: 'parley_turns_total',
      help: 'Turns by route, model and how they ended (done, cancelled, client_left, or the error code)',
      labelNames: ['route', 'model', 'outcome'] as const,
      registers: [registry],
    });
    this.timeToFirstToken = latencyHistogram(registry, {
      name: 'parley_gateway_time_to_first_token_seconds',
      help: 'Time from a turn reaching the gateway to its first token sent to the client, by route and model',
      labelNames: ['route', 'model'],
    });
  }
}
