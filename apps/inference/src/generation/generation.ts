/**
 * One generation, from its accepted request to its last chunk: tries its targets in routing order (falling
 * back only before the first token, after which the client has part of a reply and a retryable error is the
 * honest answer), streams the provider's events as the turn's chunks, and says why it ended. The stream writer
 * numbers the chunks and keeps them to exactly one `end` or `error`.
 */
import { ParleyError, TurnStreams, type ChunkBody, type ErrorInfo, type GenerateRequest } from '@parley/contracts';
import { StreamWriter, httpTraceHeaders } from '@parley/messaging';
import { trace, type Context, type Span } from '@opentelemetry/api';
import { recordError, type Logger } from '@parley/tracing';
import type { GenerateInput, ProviderEvent } from '../providers/provider.js';
import { costOf } from '../routing/arms.js';
import type { Target } from '../routing/router.js';
import { QUEUE_WAIT_MS } from '../routing/target-guard.js';
import { targetSpan } from '../routing/target-span.js';
import { dropTheSame, paramsFor } from '../routing/target-params.js';
import type { GenerationMetrics } from './generation.metrics.js';

/** Why a generation was stopped from outside: a cancel, or an error such as its timeout or shutdown. */
export type AbortReason = ErrorInfo | 'cancelled';

/** The slot a generation was accepted with: on `targets[index]`, freed by `release`. */
export interface Reservation {
  index: number;
  release: (() => void) | undefined;
}

/** Failures another target may not have: connection errors, 5xx, 429, timeouts. Not a rejected request. */
export function worthFallingBack(error: unknown): boolean {
  if (!(error instanceof ParleyError)) return true;
  return error.code === 'upstream_error' || error.code === 'rate_limited' || error.code === 'first_token_timeout';
}

/** Starts a stream and waits for its first event, so that a failure to open it can be retried or routed around. */
async function openStream(target: Target, input: GenerateInput) {
  const iterator = target.provider.stream(input)[Symbol.asyncIterator]();
  const first = await iterator.next();
  return { iterator, first };
}

/** The provider's end, with the target and upstream model that served and what it cost. */
function served(end: Extract<ProviderEvent, { type: 'end' }>, target: Target): ChunkBody {
  const costUsd = costOf(target.price, end.usage);
  return {
    ...end,
    target: target.name,
    upstreamModel: target.upstreamModel,
    ...(costUsd !== undefined && { costUsd }),
  };
}

/** One accepted generation (see above); `run` ends its chunks exactly once. */
export class Generation {
  private readonly controller = new AbortController();
  private abortReason: AbortReason | undefined;
  private readonly started = performance.now();
  private firstTokenMs: number | undefined;
  /** The target that is (or was last) streaming. */
  target: Target;

  constructor(
    private readonly request: GenerateRequest,
    private readonly targets: Target[],
    private readonly chunks: StreamWriter<typeof TurnStreams.chunks.item>,
    private readonly deps: { log: Logger; metrics: GenerationMetrics; parent: Context },
  ) {
    this.target = targets[0]!;
  }

  /** Aborted when the generation is: the upstream request is aborted with it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the generation; the first reason given decides its last chunk. */
  abort(reason: AbortReason): void {
    if (this.controller.signal.aborted) return;
    this.abortReason = reason;
    this.controller.abort();
  }

  /** Streams the reply from the reserved target on, and ends the chunks whatever happens. */
  async run(reserved: Reservation): Promise<void> {
    let failure: unknown;
    try {
      await this.fallBackThrough(reserved);
    } catch (error) {
      failure = error;
    } finally {
      await this.chunks.finish(() => this.lastChunk(failure));
    }
  }

  /** What a generation's log line says of it. */
  summary() {
    return {
      turnId: this.request.turnId,
      target: this.target.name,
      model: this.target.upstreamModel,
      chunks: this.chunks.written,
      firstTokenMs: this.firstTokenMs,
      totalMs: performance.now() - this.started,
    };
  }

  private async fallBackThrough(reserved: Reservation): Promise<void> {
    const accepted = this.targets[reserved.index]!;
    // The client was told which parameters the accepted target drops: fallbacks that drop others are skipped.
    const route = [
      accepted,
      ...this.targets.slice(reserved.index + 1).filter((t) => dropTheSame(t, accepted, this.request.params)),
    ];
    for (const [attempt, target] of route.entries()) {
      try {
        await this.attempt(target, attempt === 0 ? reserved.release : undefined);
        return;
      } catch (error) {
        const last = attempt === route.length - 1;
        if (last || this.firstTokenMs !== undefined || this.signal.aborted || !worthFallingBack(error)) throw error;
        const code = error instanceof ParleyError ? error.code : 'upstream_error';
        const next = route[attempt + 1]!.name;
        this.deps.log.warn({ turnId: this.request.turnId, target: target.name, next, code }, 'falling back');
      }
    }
  }

  /** One target's attempt, in its own GenAI client span; `release` frees the slot it was reserved with. */
  private async attempt(target: Target, reserved: (() => void) | undefined): Promise<void> {
    this.target = target;
    const span = targetSpan({ operation: 'chat', target, alias: this.request.model, parent: this.deps.parent });
    let release = reserved;
    try {
      release ??= target.guard ? await target.guard.acquire(this.signal, { queueWaitMs: QUEUE_WAIT_MS }) : undefined;
      // The upstream joins the trace: vLLM's own spans become children of this one.
      const traceparent = httpTraceHeaders(trace.setSpan(this.deps.parent, span)).traceparent;
      const input = (signal: AbortSignal): GenerateInput => ({
        model: target.upstreamModel,
        messages: this.request.messages,
        params: paramsFor(target, this.request.params),
        signal,
        traceparent,
        conversationId: this.request.conversationId,
      });
      const { iterator, first } = target.guard
        ? await target.guard.open((attemptSignal) => openStream(target, input(attemptSignal)), this.signal)
        : await openStream(target, input(this.signal));
      let lastTokenAt = 0;
      for (let next = first; !next.done; next = await iterator.next()) {
        lastTokenAt = this.observe(next.value, target, span, lastTokenAt);
        void this.chunks.write(next.value.type === 'end' ? served(next.value, target) : next.value);
      }
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      release?.();
      span.end();
    }
  }

  /** Metrics and span attributes of one event; returns when the last token came. */
  private observe(event: ProviderEvent, target: Target, span: Span, lastTokenAt: number): number {
    const labels = { model: this.request.model, target: target.name };
    const { metrics } = this.deps;
    if (event.type === 'delta') {
      const now = performance.now();
      if (this.firstTokenMs === undefined) {
        this.firstTokenMs = now - this.started;
        span.setAttribute('parley.time_to_first_token_ms', Math.round(this.firstTokenMs));
        metrics.timeToFirstToken.observe(labels, this.firstTokenMs / 1000);
      } else if (lastTokenAt > 0) {
        metrics.interTokenLatency.observe(labels, (now - lastTokenAt) / 1000);
      }
      return now;
    }
    if (event.type === 'tool_call') return lastTokenAt;
    span.setAttribute('gen_ai.response.model', target.upstreamModel);
    span.setAttribute('gen_ai.response.finish_reasons', [event.finishReason]);
    if (event.usage) {
      span.setAttribute('gen_ai.usage.input_tokens', event.usage.prompt_tokens);
      span.setAttribute('gen_ai.usage.output_tokens', event.usage.completion_tokens);
      metrics.tokens.inc({ ...labels, direction: 'input' }, event.usage.prompt_tokens);
      metrics.tokens.inc({ ...labels, direction: 'output' }, event.usage.completion_tokens);
    }
    return lastTokenAt;
  }

  /**
   * The chunk that ends a generation the provider did not end: an aborted provider stream ends quietly, so
   * the abort's reason says why; otherwise the failure, or a stream that stopped before its end.
   */
  private lastChunk(failure: unknown): ChunkBody {
    const reason = this.abortReason;
    if (reason === 'cancelled') {
      return {
        type: 'end',
        finishReason: 'cancelled',
        target: this.target.name,
        upstreamModel: this.target.upstreamModel,
      };
    }
    if (reason) return { type: 'error', error: reason };
    if (failure instanceof ParleyError) return { type: 'error', error: failure.toInfo() };
    if (failure !== undefined) {
      this.deps.log.error({ err: failure, turnId: this.request.turnId }, 'generation failed');
      return { type: 'error', error: new ParleyError('upstream_error', 'upstream failed').toInfo() };
    }
    return { type: 'error', error: new ParleyError('upstream_error', 'upstream stream ended early').toInfo() };
  }
}
