/**
 * `GET /metrics`: the gauges and the histogram of vLLM's Prometheus endpoint (v0.10 names) that Parley's
 * scaling, alerts and dashboard read, so a stack running on llm-sim exercises the same queries as one on
 * vLLM. llm-sim has no batch limit and no KV cache: nothing ever waits, and the cache use is the running
 * requests over vLLM's default batch of 256 sequences.
 */
import { Gauge, Histogram, Registry } from 'prom-client';

/** vLLM's default `--max-num-seqs`: the batch the simulated cache use is a share of. */
const SIMULATED_BATCH = 256;

export class SimMetrics {
  readonly registry = new Registry();
  private readonly timeToFirstToken: Histogram<'model_name'>;

  constructor(
    running: () => number,
    private readonly model: () => string,
  ) {
    const labelNames = ['model_name'] as const;
    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests in model execution batches.',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        this.set({ model_name: model() }, running());
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed (always 0: llm-sim has no batch limit).',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        this.set({ model_name: model() }, 0);
      },
    });
    new Gauge({
      name: 'vllm:kv_cache_usage_perc',
      help: 'KV-cache usage, 1 means 100 percent (simulated: running requests over a batch of 256).',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        this.set({ model_name: model() }, Math.min(1, running() / SIMULATED_BATCH));
      },
    });
    this.timeToFirstToken = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Histogram of time to first token in seconds.',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers: [this.registry],
    });
  }

  /** A request's first token went out `seconds` after it arrived (labelled, as vLLM does, with the served model). */
  firstToken(seconds: number): void {
    this.timeToFirstToken.observe({ model_name: this.model() }, seconds);
  }
}
