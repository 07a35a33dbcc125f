/**
 * Shadow traffic: a share of an alias's conversation turns also goes to a candidate target (the routing file's
 * `shadow`), whose reply is stored for comparison (bucket `parley_shadow`) and never streamed. A shadow call
 * starts after the real generation was accepted and runs beside it, never in its way: it takes no slot of the
 * target's guard, is bounded by the turn's total timeout, counts against its own budget (concurrent calls and
 * calls per minute), and its failures are only counted and logged.
 */
import { type GenerateRequest, type ShadowReply, type Usage } from '@parley/contracts';
import { encode, type JetStreamHandles } from '@parley/messaging';
import type { Logger, Registry } from '@parley/tracing';
import { Counter } from 'prom-client';
import { costOf } from '../routing/arms.js';
import type { Target } from '../routing/router.js';
import { paramsFor } from '../routing/target-params.js';

const MINUTE_MS = 60_000;

/** How many shadow calls may run: at once, and started per minute. */
export interface ShadowLimits {
  maxConcurrent: number;
  perMinute: number;
}

/** An alias's shadow: the candidate target, the share of turns it sees, and its budget. */
export interface ShadowRoute {
  target: Target;
  share: number;
  budget: ShadowBudget;
}

/** The shadow budget of one alias on this replica (see above). */
export class ShadowBudget {
  private running = 0;
  private readonly started: number[] = [];

  constructor(readonly limits: ShadowLimits) {}

  /** A release function when the budget has room for one more call now; else undefined. */
  take(now = Date.now()): (() => void) | undefined {
    while (this.started.length > 0 && this.started[0]! <= now - MINUTE_MS) this.started.shift();
    if (this.running >= this.limits.maxConcurrent || this.started.length >= this.limits.perMinute) return undefined;
    this.running += 1;
    this.started.push(now);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
    };
  }
}

/** Why a turn was not shadowed, or how its shadow call ended. */
type Outcome = 'stored' | 'failed' | 'over_budget';

/** Runs and stores shadow calls; `drain` aborts those still running. */
export class Shadows {
  private readonly calls: Counter<'model' | 'target' | 'outcome'>;
  private readonly running = new Set<AbortController>();

  constructor(
    private readonly deps: {
      jetstream: Pick<JetStreamHandles, 'shadow'>;
      log: Logger;
      metrics: Registry;
      /** A number in [0, 1): which turns fall in the share (tests pass their own). */
      random?: () => number;
    },
  ) {
    this.calls = new Counter({
      name: 'parley_shadow_calls_total',
      help: 'Shadow calls by model, shadow target and outcome (stored, failed: stored with its error, over_budget: not made)',
      labelNames: ['model', 'target', 'outcome'] as const,
      registers: [deps.metrics],
    });
  }

  /**
   * Starts the shadow call of an accepted conversation turn when its alias has a shadow and the turn falls in
   * its share; returns at once. Never throws.
   */
  consider(request: GenerateRequest, shadow: ShadowRoute | undefined, arm: string): void {
    if (!shadow || request.conversationId === undefined) return;
    if ((this.deps.random ?? Math.random)() >= shadow.share) return;
    const labels = { model: request.model, target: shadow.target.name };
    const release = shadow.budget.take();
    if (!release) return void this.count(labels, 'over_budget');
    const controller = new AbortController();
    this.running.add(controller);
    void this.run(request, shadow.target, {
      arm,
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(request.limits.turnTimeoutMs)]),
    })
      .then(async (reply) => {
        // A failed shadow call is stored too: that the candidate failed is part of the comparison.
        await this.deps.jetstream.shadow.put(`${reply.conversationId}.${reply.turnId}`, encode(reply));
        return reply.error;
      })
      .then(
        (failure) => {
          this.count(labels, failure ? 'failed' : 'stored');
          if (failure) this.failed(request, labels, failure);
        },
        (error: unknown) => {
          this.count(labels, 'failed');
          this.failed(request, labels, error);
        },
      )
      .finally(() => {
        release();
        this.running.delete(controller);
      });
  }

  /** Aborts every shadow call still running (shutdown). */
  drain(): void {
    for (const controller of this.running) controller.abort();
  }

  private failed(request: GenerateRequest, labels: { model: string; target: string }, cause: unknown): void {
    this.deps.log.warn({ cause, turnId: request.turnId, ...labels, code: 'shadow_failed' }, 'shadow call failed');
  }

  private count(labels: { model: string; target: string }, outcome: Outcome): void {
    this.calls.inc({ ...labels, outcome });
  }

  /** The shadow target's whole reply; a failure after it started is stored with its code. */
  private async run(
    request: GenerateRequest,
    target: Target,
    { arm, signal }: { arm: string; signal: AbortSignal },
  ): Promise<ShadowReply> {
    const started = performance.now();
    let text = '';
    let firstTokenMs: number | undefined;
    let usage: Usage | undefined;
    let finishReason: ShadowReply['finishReason'];
    const reply = (fields: Partial<ShadowReply>): ShadowReply => ({
      turnId: request.turnId,
      conversationId: request.conversationId!,
      model: request.model,
      arm,
      target: target.name,
      upstreamModel: target.upstreamModel,
      text,
      createdAt: new Date().toISOString(),
      ...fields,
    });
    const stream = target.provider.stream({
      model: target.upstreamModel,
      messages: request.messages,
      params: paramsFor(target, request.params),
      signal,
      conversationId: request.conversationId,
    });
    try {
      for await (const event of stream) {
        if (event.type === 'delta') {
          firstTokenMs ??= performance.now() - started;
          text += event.text;
        } else if (event.type === 'end') {
          finishReason = event.finishReason;
          usage = event.usage;
        }
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return reply({ error: typeof code === 'string' ? code : 'upstream_error', firstTokenMs });
    }
    if (signal.aborted && finishReason === undefined) return reply({ error: 'turn_timeout', firstTokenMs });
    const costUsd = costOf(target.price, usage);
    return reply({ finishReason, usage, firstTokenMs, ...(costUsd !== undefined && { costUsd }) });
  }
}
