/**
 * Accepts generations and runs them (generation.ts) in the background: a generation is accepted only once a
 * target has a slot for it, so overload is a 429 the client sees rather than a stream error. A cancel on the
 * turn's subject, the turn's total timeout or shutdown aborts the upstream HTTP request so the model server
 * frees the slot.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import {
  Broadcasts,
  ParleyError,
  TurnStreams,
  type GenerateAccepted,
  type GenerateRequest,
  type PingReply,
  type TargetStatesReply,
} from '@parley/contracts';
import { ActiveStreams, StreamWriter, encode, injectHeaders, onCancel, type NatsHandle } from '@parley/messaging';
import { context } from '@opentelemetry/api';
import type { Logger } from '@parley/tracing';
import type { Router, Target } from '../routing/router.js';
import { QUEUE_WAIT_MS } from '../routing/target-guard.js';
import { droppedParams, fittingTargets } from '../routing/target-params.js';
import { Generation, type Reservation } from './generation.js';
import { GenerationMetrics } from './generation.metrics.js';
import { Tokens } from '../tokens.js';
import { Shadows } from '../shadow/shadow.js';

/**
 * A slot on the first target that has one free, in routing order; else a place in the first queue with
 * room (waiting at most QUEUE_WAIT_MS); else `rate_limited` with the soonest `Retry-After` of the targets.
 * A static reply target always has room.
 */
async function reserveSlot(targets: Target[], signal: AbortSignal): Promise<Reservation> {
  for (const [index, target] of targets.entries()) {
    if (!target.guard) return { index, release: undefined };
    if (target.guard.hasFreeSlot()) return { index, release: await target.guard.acquire(signal) };
  }
  const index = targets.findIndex((t) => t.guard?.hasQueueRoom());
  if (index >= 0)
    return { index, release: await targets[index]!.guard!.acquire(signal, { queueWaitMs: QUEUE_WAIT_MS }) };
  const retryAfterSeconds = Math.min(...targets.map((t) => t.guard!.retryAfterSeconds()));
  throw new ParleyError('rate_limited', 'every target of this model is at capacity', { retryAfterSeconds });
}

/** The generations of this replica: accepted, run, cancelled and drained (see above). */
@Injectable()
export class GenerationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly active = new ActiveStreams<Generation>();
  private readonly instanceId = randomUUID().slice(0, 8);
  private targetStates: Subscription | undefined;

  constructor(
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.router) private readonly router: Router,
    @Inject(Tokens.log) private readonly log: Logger,
    @Inject(GenerationMetrics) private readonly metrics: GenerationMetrics,
    @Inject(Shadows) private readonly shadows: Shadows,
  ) {}

  ping(): PingReply {
    return { service: 'inference', instanceId: this.instanceId };
  }

  /**
   * Answers `Broadcasts.inferenceTargets` from every replica (no queue group: the state is per replica), so
   * the gateway's admin view sees all of them.
   */
  onApplicationBootstrap(): void {
    this.targetStates = this.nats.nc.subscribe(Broadcasts.inferenceTargets.subject, {
      callback: (_error, msg) => {
        const reply: TargetStatesReply = { instanceId: this.instanceId, targets: this.router.targetStates() };
        msg.respond(encode(reply));
      },
    });
  }

  onModuleDestroy(): void {
    this.targetStates?.unsubscribe();
  }

  /**
   * Accepts a generation and runs it in the background; the reply names the upstream model. Runs in the
   * consumer span of the generate request, which becomes the parent of each upstream attempt's span.
   */
  async start(request: GenerateRequest): Promise<GenerateAccepted> {
    if (this.active.isStopping) throw new ParleyError('shutting_down', 'inference replica is shutting down');
    if (this.active.has(request.turnId)) throw new ParleyError('invalid_request', 'turn is already generating');
    // A conversation stays on the arm it was pinned to (else sticky by its id). Targets that cannot serve the
    // request's parameters are left out; the arm assigned is the first in routing order all the same.
    const routed = this.router.targets(request.model, request.conversationId ?? request.turnId, 'chat', request.arm);
    const arm = routed[0]!.name;
    const targets = fittingTargets(routed, request.params, request.model);
    const parent = context.active();
    const chunks = new StreamWriter(this.nats, {
      stream: TurnStreams.chunks,
      turnId: request.turnId,
      headers: injectHeaders(parent),
    });
    const generation = new Generation(request, targets, chunks, { log: this.log, metrics: this.metrics, parent });
    const reserved = await reserveSlot(targets, generation.signal);
    this.active.track(request.turnId, generation, () => this.run(request, generation, reserved));
    // Only once the real turn is on its way; whatever the shadow does stays out of it.
    this.shadows.consider(request, this.router.shadowOf(request.model), arm);
    const target = targets[reserved.index]!;
    const dropped = droppedParams(target, request.params);
    return {
      turnId: request.turnId,
      upstreamModel: target.upstreamModel,
      arm,
      ...(dropped.length > 0 && { droppedParams: dropped }),
    };
  }

  /** Waits up to `graceMs` for running generations, then ends the rest with a retryable error. */
  drain(graceMs: number): Promise<void> {
    this.shadows.drain();
    return this.active.drain(graceMs, (generation) =>
      generation.abort(new ParleyError('shutting_down', 'inference replica shut down').toInfo()),
    );
  }

  private async run(request: GenerateRequest, generation: Generation, reserved: Reservation): Promise<void> {
    const cancel = onCancel(this.nats.nc, request.turnId, this.log, () => generation.abort('cancelled'));
    const turnTimer = setTimeout(
      () => generation.abort(new ParleyError('turn_timeout', 'the turn took too long').toInfo()),
      request.limits.turnTimeoutMs,
    );
    this.metrics.active.inc();
    try {
      await generation.run(reserved);
    } finally {
      this.metrics.active.dec();
      clearTimeout(turnTimer);
      cancel.unsubscribe();
      this.log.debug(generation.summary(), 'generation ended');
    }
  }
}
