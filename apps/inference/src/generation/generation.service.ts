/**
 * Runs generations: streams tokens from the provider to the turn's chunk subject, numbered from 1, ending in
 * exactly one `end` or `error` chunk. A cancel on the turn's subject, the turn's total timeout or shutdown
 * aborts the upstream HTTP request so the model server frees the slot.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import {
  CancelSchema,
  ParleyError,
  Subjects,
  inferenceChunksSubject,
  turnCancelSubject,
  type ChunkBody,
  type ErrorInfo,
  type GenerateAccepted,
  type GenerateRequest,
  type PingReply,
  type TargetStatesReply,
} from '@parley/contracts';
import { ActiveStreams, decode, encode, httpTraceHeaders, injectHeaders, type NatsHandle } from '@parley/messaging';
import { SpanKind, context, trace, type Context } from '@opentelemetry/api';
import { recordError, tracer, type Logger } from '@parley/tracing';
import type { GenerateInput } from '../providers/provider.js';
import type { Router, Target } from '../routing/router.js';
import { GenerationMetrics } from './generation.metrics.js';
import { Tokens } from '../tokens.js';

interface ActiveGeneration {
  controller: AbortController;
  /** Why it was aborted, when it was; decides the terminal chunk. */
  abortReason?: ErrorInfo | 'cancelled';
}

interface Reservation {
  /** The target that has the slot. */
  index: number;
  release: (() => void) | undefined;
}

/** How long a turn may wait in a target's queue before the client is told to come back (429). */
const QUEUE_WAIT_MS = 2_000;

/**
 * A slot on the first target that has one free, in routing order; else a place in the first queue with
 * room (waiting at most QUEUE_WAIT_MS); else `rate_limited`. A static reply target always has room.
 */
async function reserveSlot(targets: Target[], signal: AbortSignal): Promise<Reservation> {
  for (const [index, target] of targets.entries()) {
    if (!target.guard) return { index, release: undefined };
    if (target.guard.hasFreeSlot()) return { index, release: await target.guard.acquire(signal) };
  }
  const index = targets.findIndex((t) => t.guard?.hasQueueRoom());
  if (index >= 0) {
    try {
      const wait = AbortSignal.any([signal, AbortSignal.timeout(QUEUE_WAIT_MS)]);
      return { index, release: await targets[index]!.guard!.acquire(wait) };
    } catch (error) {
      if (error instanceof ParleyError) throw error;
      // The wait timed out: fall through to a 429.
    }
  }
  throw new ParleyError('rate_limited', 'every target of this model is at capacity', { retryAfterSeconds: 1 });
}

/** Starts a stream and waits for its first event, so that a failure to open it can be retried or routed around. */
async function openStream(target: Target, input: GenerateInput) {
  const iterator = target.provider.stream(input)[Symbol.asyncIterator]();
  const first = await iterator.next();
  return { iterator, first };
}

/** Failures another target may not have: connection errors, 5xx, 429, timeouts. Not a rejected request. */
function worthFallingBack(error: unknown): boolean {
  if (!(error instanceof ParleyError)) return true;
  return error.code === 'upstream_error' || error.code === 'rate_limited' || error.code === 'first_token_timeout';
}

@Injectable()
export class GenerationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly active = new ActiveStreams<ActiveGeneration>();
  private readonly instanceId = randomUUID().slice(0, 8);

  constructor(
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.router) private readonly router: Router,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(GenerationMetrics) private readonly metrics: GenerationMetrics,
  ) {}

  ping(): PingReply {
    return { service: 'inference', instanceId: this.instanceId };
  }

  /**
   * Answers `Subjects.inferenceTargets` from every replica (no queue group: the state is per replica), so
   * the gateway's admin view sees all of them.
   */
  onApplicationBootstrap(): void {
    this.targetStates = this.nats.nc.subscribe(Subjects.inferenceTargets, {
      callback: (_error, msg) => {
        const reply: TargetStatesReply = { instanceId: this.instanceId, targets: this.router.targetStates() };
        msg.respond(encode(reply));
      },
    });
  }

  onModuleDestroy(): void {
    this.targetStates?.unsubscribe();
  }

  private targetStates: Subscription | undefined;

  /** Accepts a generation and runs it in the background; the reply names the upstream model. */
  /** Runs in the consumer span of the generate request; each upstream attempt gets a GenAI client span. */
  async start(request: GenerateRequest): Promise<GenerateAccepted> {
    if (this.active.isStopping) throw new ParleyError('shutting_down', 'inference replica is shutting down');
    if (this.active.has(request.turnId)) throw new ParleyError('invalid_request', 'turn is already generating');
    // Sticky per conversation: a conversation stays on the split target it started on.
    const targets = this.router.targets(request.model, request.conversationId ?? request.turnId);
    const entry: ActiveGeneration = { controller: new AbortController() };
    // A slot is taken before the turn is accepted, so that overload is a 429 the client sees, not a stream error.
    const reserved = await reserveSlot(targets, entry.controller.signal);
    this.active.track(request.turnId, entry, () => this.run(request, targets, reserved, entry, context.active()));
    return { turnId: request.turnId, upstreamModel: targets[reserved.index]!.upstreamModel };
  }

  /** Waits up to `graceMs` for running generations, then ends the rest with a retryable error. */
  drain(graceMs: number): Promise<void> {
    return this.active.drain(graceMs, (entry) =>
      this.abort(entry, new ParleyError('shutting_down', 'inference replica shut down').toInfo()),
    );
  }

  private async run(
    request: GenerateRequest,
    targets: Target[],
    reserved: Reservation,
    entry: ActiveGeneration,
    parent: Context,
  ): Promise<void> {
    const { turnId } = request;
    let target = targets[0]!;
    const subject = inferenceChunksSubject(turnId);
    const headers = injectHeaders(parent);
    let seq = 0;
    let ended = false;
    const publish = (chunk: ChunkBody) => {
      if (ended) return;
      ended = chunk.type !== 'delta';
      seq += 1;
      this.nats.publisher.inStream(seq, subject, encode({ ...chunk, seq }), headers);
    };
    const cancel: Subscription = this.nats.nc.subscribe(turnCancelSubject(turnId), {
      callback: (error, msg) => {
        if (error) return;
        try {
          decode(CancelSchema, msg.data, 'cancel');
          this.abort(entry, 'cancelled');
        } catch (invalid) {
          this.log.warn({ err: invalid, turnId }, 'ignored an invalid cancel');
        }
      },
    });
    const turnTimer = setTimeout(
      () => this.abort(entry, new ParleyError('turn_timeout', 'the turn took too long').toInfo()),
      request.limits.turnTimeoutMs,
    );
    const started = performance.now();
    let firstTokenMs: number | undefined;
    this.metrics.active.inc();
    try {
      for (let attempt = reserved.index; attempt < targets.length; attempt++) {
        const candidate = targets[attempt]!;
        target = candidate;
        let release = attempt === reserved.index ? reserved.release : undefined;
        const span = tracer().startSpan(
          `chat ${candidate.upstreamModel}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.system': candidate.provider.system,
              'gen_ai.request.model': candidate.upstreamModel,
              'parley.target': candidate.name,
              'parley.model_alias': request.model,
            },
          },
          parent,
        );
        // The upstream joins the trace: vLLM's own spans become children of this one.
        const traceparent = httpTraceHeaders(trace.setSpan(parent, span)).traceparent;
        try {
          release ??= candidate.guard ? await candidate.guard.acquire(entry.controller.signal) : undefined;
          const input = (signal: AbortSignal) => ({
            model: candidate.upstreamModel,
            messages: request.messages,
            params: request.params,
            includeUsage: request.includeUsage,
            signal,
            traceparent,
            conversationId: request.conversationId,
          });
          const signal = entry.controller.signal;
          const { iterator, first } = candidate.guard
            ? await candidate.guard.open((attemptSignal) => openStream(candidate, input(attemptSignal)), signal)
            : await openStream(candidate, input(signal));
          const labels = { model: request.model, target: candidate.name };
          let lastTokenAt = 0;
          for (let next = first; !next.done; next = await iterator.next()) {
            const event = next.value;
            if (event.type === 'delta') {
              const now = performance.now();
              if (firstTokenMs === undefined) {
                firstTokenMs = now - started;
                span.setAttribute('parley.time_to_first_token_ms', Math.round(firstTokenMs));
                this.metrics.timeToFirstToken.observe(labels, firstTokenMs / 1000);
              } else if (lastTokenAt > 0) {
                this.metrics.interTokenLatency.observe(labels, (now - lastTokenAt) / 1000);
              }
              lastTokenAt = now;
              publish({ type: 'delta', text: event.text });
            } else {
              span.setAttribute('gen_ai.response.model', candidate.upstreamModel);
              span.setAttribute('gen_ai.response.finish_reasons', [event.finishReason]);
              if (event.usage) {
                span.setAttribute('gen_ai.usage.input_tokens', event.usage.prompt_tokens);
                span.setAttribute('gen_ai.usage.output_tokens', event.usage.completion_tokens);
                this.metrics.tokens.inc({ ...labels, direction: 'input' }, event.usage.prompt_tokens);
                this.metrics.tokens.inc({ ...labels, direction: 'output' }, event.usage.completion_tokens);
              }
              publish({ type: 'end', finishReason: event.finishReason, usage: event.usage });
            }
          }
          break;
        } catch (error) {
          recordError(span, error);
          // Only before the first token: after it, the client has part of a reply and a retryable error is honest.
          const last = attempt === targets.length - 1;
          if (last || firstTokenMs !== undefined || entry.controller.signal.aborted || !worthFallingBack(error)) {
            throw error;
          }
          const code = error instanceof ParleyError ? error.code : 'upstream_error';
          this.log.warn({ turnId, target: candidate.name, next: targets[attempt + 1]!.name, code }, 'falling back');
        } finally {
          release?.();
          span.end();
        }
      }
      // An aborted provider stream ends quietly; say why it ended (an error is built only when it is sent).
      if (!ended) {
        if (entry.abortReason === 'cancelled') publish({ type: 'end', finishReason: 'cancelled' });
        else if (entry.abortReason) publish({ type: 'error', error: entry.abortReason });
        else
          publish({ type: 'error', error: new ParleyError('upstream_error', 'upstream stream ended early').toInfo() });
      }
    } catch (error) {
      const info =
        error instanceof ParleyError ? error.toInfo() : new ParleyError('upstream_error', 'upstream failed').toInfo();
      if (!(error instanceof ParleyError)) this.log.error({ err: error, turnId }, 'generation failed');
      const reason = entry.abortReason;
      if (reason === 'cancelled') publish({ type: 'end', finishReason: 'cancelled' });
      else publish({ type: 'error', error: reason ?? info });
    } finally {
      this.metrics.active.dec();
      clearTimeout(turnTimer);
      cancel.unsubscribe();
      this.log.debug(
        {
          turnId,
          target: target.name,
          model: target.upstreamModel,
          chunks: seq,
          firstTokenMs,
          totalMs: performance.now() - started,
        },
        'generation ended',
      );
    }
  }

  private abort(entry: ActiveGeneration, reason: ErrorInfo | 'cancelled'): void {
    if (entry.controller.signal.aborted) return;
    entry.abortReason = reason;
    entry.controller.abort();
  }
}
