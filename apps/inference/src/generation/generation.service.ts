/**
 * Runs generations: streams tokens from the provider to the turn's chunk subject, numbered from 1, ending in
 * exactly one `end` or `error` chunk. A cancel on the turn's subject, the turn's total timeout or shutdown
 * aborts the upstream HTTP request so the model server frees the slot.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import {
  CancelSchema,
  ParleyError,
  inferenceChunksSubject,
  turnCancelSubject,
  type ChunkBody,
  type ErrorInfo,
  type GenerateAccepted,
  type GenerateRequest,
  type PingReply,
} from '@parley/contracts';
import { ActiveStreams, decode, encode, outgoingHeaders, type NatsHandle } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import type { Router, Target } from '../routing/router.js';
import { Tokens } from '../tokens.js';

interface ActiveGeneration {
  controller: AbortController;
  /** Why it was aborted, when it was; decides the terminal chunk. */
  abortReason?: ErrorInfo | 'cancelled';
}

/** Failures another target may not have: connection errors, 5xx, 429, timeouts. Not a rejected request. */
function worthFallingBack(error: unknown): boolean {
  if (!(error instanceof ParleyError)) return true;
  return error.code === 'upstream_error' || error.code === 'rate_limited' || error.code === 'first_token_timeout';
}

@Injectable()
export class GenerationService {
  private readonly active = new ActiveStreams<ActiveGeneration>();
  private readonly instanceId = randomUUID().slice(0, 8);

  constructor(
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.router) private readonly router: Router,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  ping(): PingReply {
    return { service: 'inference', instanceId: this.instanceId };
  }

  /** Accepts a generation and runs it in the background; the reply names the upstream model. */
  start(request: GenerateRequest, traceparent: string | undefined): GenerateAccepted {
    if (this.active.isStopping) throw new ParleyError('shutting_down', 'inference replica is shutting down');
    if (this.active.has(request.turnId)) throw new ParleyError('invalid_request', 'turn is already generating');
    // Sticky per conversation: a conversation stays on the split target it started on.
    const targets = this.router.targets(request.model, request.conversationId ?? request.turnId);
    const entry: ActiveGeneration = { controller: new AbortController() };
    this.active.track(request.turnId, entry, () => this.run(request, targets, entry, traceparent));
    return { turnId: request.turnId, upstreamModel: targets[0]!.upstreamModel };
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
    entry: ActiveGeneration,
    traceparent: string | undefined,
  ): Promise<void> {
    const { turnId } = request;
    let target = targets[0]!;
    const subject = inferenceChunksSubject(turnId);
    const headers = outgoingHeaders(traceparent);
    let seq = 0;
    let ended = false;
    const publish = (chunk: ChunkBody) => {
      if (ended) return;
      ended = chunk.type !== 'delta';
      seq += 1;
      this.nats.nc.publish(subject, encode({ ...chunk, seq }), { headers });
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
    try {
      for (const [attempt, candidate] of targets.entries()) {
        target = candidate;
        try {
          for await (const event of candidate.provider.stream({
            model: candidate.upstreamModel,
            messages: request.messages,
            params: request.params,
            includeUsage: request.includeUsage,
            signal: entry.controller.signal,
            traceparent: headers.get('traceparent'),
            conversationId: request.conversationId,
          })) {
            if (event.type === 'delta') {
              firstTokenMs ??= performance.now() - started;
              publish({ type: 'delta', text: event.text });
            } else {
              publish({ type: 'end', finishReason: event.finishReason, usage: event.usage });
            }
          }
          break;
        } catch (error) {
          // Only before the first token: after it, the client has part of a reply and a retryable error is honest.
          const last = attempt === targets.length - 1;
          if (last || firstTokenMs !== undefined || entry.controller.signal.aborted || !worthFallingBack(error)) {
            throw error;
          }
          const code = error instanceof ParleyError ? error.code : 'upstream_error';
          this.log.warn({ turnId, target: candidate.name, next: targets[attempt + 1]!.name, code }, 'falling back');
        }
      }
      // An aborted provider stream ends quietly; say why it ended.
      if (entry.abortReason === 'cancelled') publish({ type: 'end', finishReason: 'cancelled' });
      else if (entry.abortReason) publish({ type: 'error', error: entry.abortReason });
      else publish({ type: 'error', error: new ParleyError('upstream_error', 'upstream stream ended early').toInfo() });
    } catch (error) {
      const info =
        error instanceof ParleyError ? error.toInfo() : new ParleyError('upstream_error', 'upstream failed').toInfo();
      if (!(error instanceof ParleyError)) this.log.error({ err: error, turnId }, 'generation failed');
      const reason = entry.abortReason;
      if (reason === 'cancelled') publish({ type: 'end', finishReason: 'cancelled' });
      else publish({ type: 'error', error: reason ?? info });
    } finally {
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
