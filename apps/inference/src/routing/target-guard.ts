/**
 * Resilience for one target, with cockatiel policies: a concurrency cap with a bounded wait queue (bulkhead),
 * retries with exponential backoff and full jitter that honour `Retry-After`, and a circuit breaker that opens
 * when too many of the last calls failed, lets one probe through after a cool-down and closes on success.
 * Only the opening of a stream (up to its first event) goes through retry and breaker: once tokens have been
 * sent, a failure ends the turn with a retryable error instead.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  CountBreaker,
  DelegateBackoff,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { ParleyError } from '@parley/contracts';
import type { Logger } from '@parley/tracing';

/** A target's limits, retries and breaker. */
export interface GuardOptions {
  maxConcurrency: number;
  maxQueue: number;
  retries: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** Open when at least this share of the last `breakerWindow` calls failed (after `breakerMinimumCalls`). */
  breakerFailureRatio: number;
  breakerWindow: number;
  breakerMinimumCalls: number;
  breakerCooldownMs: number;
  /** Time allowed from sending the request to its first event; unset leaves it to the turn's limit. */
  firstTokenTimeoutMs?: number;
}

/** The limits of a target whose routing file sets none. */
export const DEFAULT_GUARD: GuardOptions = {
  // vLLM's own default batch is 256 sequences (--max-num-seqs); a smaller cap would refuse work it can take.
  maxConcurrency: 256,
  maxQueue: 256,
  retries: 2,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 2_000,
  breakerFailureRatio: 0.5,
  breakerWindow: 20,
  breakerMinimumCalls: 5,
  breakerCooldownMs: 10_000,
};

/** How long a stream may wait in a target's queue before it is refused with `rate_limited` (429). */
export const QUEUE_WAIT_MS = 2_000;
/** A `Retry-After` longer than this is not waited for: the next target is tried instead. */
const MAX_RETRY_AFTER_MS = 5_000;
/** The longest `Retry-After` a full target tells its clients, whatever its streams suggest. */
const MAX_REFUSAL_RETRY_AFTER_S = 60;
/** Weight of the newest stream in the typical time a stream holds its slot (an exponential moving average). */
const HOLD_SMOOTHING = 0.2;

/** A circuit breaker's state, as the admin view and metrics show it. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** A target's resilience right now: breaker, streams in flight and waiting, and its limits. */
export interface TargetState {
  target: string;
  breaker: BreakerState;
  inFlight: number;
  queued: number;
  maxConcurrency: number;
  maxQueue: number;
}

/** Failures worth another try: connection errors, 5xx, 429 (within the wait cap), timeouts. */
function isTransient(error: unknown): boolean {
  if (error instanceof BrokenCircuitError || error instanceof BulkheadRejectedError) return false;
  if (!(error instanceof ParleyError)) return true;
  if (error.code === 'rate_limited') return (error.retryAfterSeconds ?? 0) * 1000 <= MAX_RETRY_AFTER_MS;
  return error.code === 'upstream_error' || error.code === 'first_token_timeout';
}

/** One target's bulkhead, retries and breaker (see above). */
export class TargetGuard {
  private readonly bulkhead: BulkheadPolicy;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly opening;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** When each stream holding a slot got it. */
  private readonly holding = new Set<{ since: number }>();
  /** Streams waiting for a slot that have not given up (cockatiel keeps a given-up one queued until a slot frees). */
  private waiting = 0;
  /** How long a stream typically holds its slot, once one has finished. */
  private typicalHoldMs: number | undefined;

  constructor(
    readonly name: string,
    readonly options: GuardOptions,
    { now = () => performance.now(), log }: { now?: () => number; log?: Logger } = {},
  ) {
    this.now = now;
    this.log = log;
    this.bulkhead = bulkhead(options.maxConcurrency, options.maxQueue);
    this.breaker = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: options.breakerCooldownMs,
      breaker: new CountBreaker({
        threshold: options.breakerFailureRatio,
        size: options.breakerWindow,
        minimumNumberOfCalls: options.breakerMinimumCalls,
      }),
    });
    // One line per transition, so an operator can tell when a target was cut off and when it came back.
    this.breaker.onStateChange((state) => {
      const breaker = BREAKER_STATES[state];
      const line = { target: name, breaker, code: `breaker_${breaker.replace('-', '_')}` };
      if (state === CircuitState.Closed) log?.info(line, 'circuit breaker state changed');
      else log?.warn(line, 'circuit breaker state changed');
    });
    const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>>((context) => {
      const error = 'error' in context.result ? context.result.error : undefined;
      if (error instanceof ParleyError && error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
      const ceiling = Math.min(options.retryMaxDelayMs, options.retryInitialDelayMs * 2 ** (context.attempt - 1));
      return Math.round(Math.random() * ceiling); // full jitter
    });
    const retries = retry(handleWhen(isTransient), { maxAttempts: options.retries, backoff });
    // Retries outside the breaker: each attempt counts, and an open breaker stops the retries at once.
    this.opening = wrap(retries, this.breaker);
  }

  /**
   * A slot for one stream, waiting in the queue when the target is busy; the returned function frees it.
   * A full queue, or no slot within `queueWaitMs`, is `rate_limited` (429 to the client when no other target
   * has room) with a `Retry-After` from the target's state. An aborted `signal` gives up the wait at once.
   */
  acquire(signal: AbortSignal, { queueWaitMs }: { queueWaitMs?: number } = {}): Promise<() => void> {
    return new Promise((resolve, reject) => {
      // cockatiel checks a queued item's signal only when a slot frees, so the wait's end is ours to enforce.
      const gaveUp = new AbortController();
      const queued = this.bulkhead.executionSlots <= 0 && this.bulkhead.queueSlots > 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => giveUp(signal.reason);
      const settle = () => {
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (queued) this.waiting--;
      };
      const giveUp = (error: unknown) => {
        if (settled) return;
        settle();
        gaveUp.abort();
        reject(error);
      };
      if (queued) {
        this.waiting++;
        signal.addEventListener('abort', onAbort, { once: true });
        if (queueWaitMs !== undefined) {
          timer = setTimeout(
            () =>
              giveUp(this.refusal(`target ${this.name} had no free slot within ${queueWaitMs} ms`, this.waiting - 1)),
            queueWaitMs,
          );
        }
      }
      this.bulkhead
        .execute(
          () =>
            new Promise<void>((release) => {
              if (settled) return release();
              settle();
              const hold = { since: this.now() };
              this.holding.add(hold);
              resolve(() => {
                if (this.holding.delete(hold)) this.recordHold(this.now() - hold.since);
                release();
              });
            }),
          AbortSignal.any([signal, gaveUp.signal]),
        )
        .catch((error: unknown) =>
          giveUp(
            error instanceof BulkheadRejectedError
              ? this.refusal(`target ${this.name} is at capacity`, this.waiting)
              : error,
          ),
        );
    });
  }

  /**
   * Seconds until a newcomer behind `ahead` waiting streams likely gets a slot: the time the soonest stream
   * in flight is expected to go on, plus a typical stream's time for each round of the queue ahead. Until a
   * stream has finished, a running one is expected to go on as long as it has run so far.
   */
  retryAfterSeconds(ahead = this.waiting): number {
    const now = this.now();
    const oldestMs = Math.max(0, ...[...this.holding].map((hold) => now - hold.since));
    const typicalMs = this.typicalHoldMs ?? oldestMs;
    const soonestMs = this.typicalHoldMs === undefined ? oldestMs : Math.max(0, typicalMs - oldestMs);
    const queueMs = (ahead / this.options.maxConcurrency) * typicalMs;
    return Math.min(MAX_REFUSAL_RETRY_AFTER_S, Math.max(1, Math.ceil((soonestMs + queueMs) / 1000)));
  }

  private refusal(message: string, ahead: number): ParleyError {
    return new ParleyError('rate_limited', message, { retryAfterSeconds: this.retryAfterSeconds(ahead) });
  }

  private recordHold(ms: number): void {
    this.typicalHoldMs =
      this.typicalHoldMs === undefined ? ms : this.typicalHoldMs + HOLD_SMOOTHING * (ms - this.typicalHoldMs);
  }

  /** True when a slot is free right now (no queueing). */
  hasFreeSlot(): boolean {
    return this.bulkhead.executionSlots > 0;
  }

  /** True when a stream could wait for a slot (the queue is not full). */
  hasQueueRoom(): boolean {
    return this.bulkhead.queueSlots > 0;
  }

  /**
   * Runs `open` (start a stream and read its first event) through retries and the breaker. Each attempt gets
   * its own signal, aborted when the turn is or when the attempt's first-token timeout passes.
   */
  open<T>(open: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    const { firstTokenTimeoutMs } = this.options;
    let attempts = 0;
    const attempt = async () => {
      attempts++;
      try {
        return await attemptOnce();
      } catch (error) {
        // Our own messages only: an upstream's error body could echo the conversation.
        const { code, message } = error instanceof ParleyError ? error : { code: 'upstream_error', message: undefined };
        this.log?.warn({ target: this.name, attempt: attempts, code, reason: message }, 'upstream attempt failed');
        throw error;
      }
    };
    const attemptOnce = async () => {
      if (firstTokenTimeoutMs === undefined) return open(signal);
      const timeout = AbortSignal.timeout(firstTokenTimeoutMs);
      const result = await open(AbortSignal.any([signal, timeout]));
      // A provider ends quietly when aborted: tell a timeout apart from a cancel.
      if (timeout.aborted && !signal.aborted) {
        throw new ParleyError(
          'first_token_timeout',
          `target ${this.name} sent nothing within ${firstTokenTimeoutMs} ms`,
        );
      }
      return result;
    };
    return this.opening.execute(attempt, signal).catch((error: unknown) => {
      if (error instanceof BrokenCircuitError) {
        throw new ParleyError('upstream_error', `target ${this.name} is failing; its circuit breaker is open`);
      }
      throw error;
    });
  }

  state(): TargetState {
    const { maxConcurrency, maxQueue } = this.options;
    return {
      target: this.name,
      breaker: BREAKER_STATES[this.breaker.state],
      inFlight: this.holding.size,
      queued: this.waiting,
      maxConcurrency,
      maxQueue,
    };
  }
}

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};
