/**
 * The gateway's side of the turn protocol: hands turns to a responder and reads their frames back, live or
 * from the frames stream. The frame subscription exists before the turn is started, so the first frame cannot
 * be missed; a refused turn (no responder, no inference) throws before any response byte is written, so the
 * client gets a plain HTTP error with `Retry-After`.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  Endpoints,
  type CancelReason,
  type Frame,
  type TurnAccepted,
  type TurnLimits,
  type TurnStart,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import {
  cancelTurn,
  openStream,
  replayFrames,
  type NatsHandle,
  type OpenedStream,
  type ReadTimeouts,
  type JetStreamHandles,
} from '@parley/messaging';
import { Tokens } from '../tokens.js';

/**
 * The gateway waits a little longer than the responder's own timeouts, so that a slow model is reported by
 * the responder with its precise code and only a silent responder shows up as `responder_lost`.
 */
const RESPONDER_MARGIN_MS = 1_000;

/** How long the gateway waits for a turn's frames, live or resumed. */
export function frameTimeouts(limits: TurnLimits): ReadTimeouts {
  const margin = Math.min(RESPONDER_MARGIN_MS, Math.floor(limits.interTokenTimeoutMs / 2));
  return {
    firstItemMs: limits.firstTokenTimeoutMs + margin,
    idleMs: limits.interTokenTimeoutMs + margin,
    totalMs: limits.turnTimeoutMs + margin,
    codes: { first: 'responder_lost', idle: 'responder_lost', total: 'turn_timeout' },
  };
}

/** A started turn: its frames in order; closing stops reading, cancelling stops the turn. */
export type RunningTurn = OpenedStream<TurnAccepted, Frame>;

@Injectable()
export class TurnClient {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.jetstream) private readonly jetstream: JetStreamHandles,
  ) {}

  /** The timeouts every hop of a turn honours. */
  limits(): TurnLimits {
    return {
      firstTokenTimeoutMs: this.config.PARLEY_FIRST_TOKEN_TIMEOUT_MS,
      interTokenTimeoutMs: this.config.PARLEY_INTER_TOKEN_TIMEOUT_MS,
      turnTimeoutMs: this.config.PARLEY_TURN_TIMEOUT_MS,
    };
  }

  /** Starts a turn. Call inside the request's span: the turn's NATS hop becomes its child. */
  start(turn: TurnStart): Promise<RunningTurn> {
    return openStream(this.nats, Endpoints.turnStart, turn, {
      timeouts: frameTimeouts(turn.limits),
      requestTimeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
    });
  }

  /** A conversation turn's frames after `afterSeq`, from the frames stream: resuming works from any gateway. */
  replay(turnId: string, afterSeq: number) {
    return replayFrames(this.jetstream.js, { turnId, afterSeq, timeouts: frameTimeouts(this.limits()) });
  }

  /** Stops a turn on every hop, wherever it runs. */
  cancel(turnId: string, reason: CancelReason): void {
    cancelTurn(this.nats.nc, turnId, reason);
  }
}
