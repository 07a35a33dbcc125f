/**
 * Hands turns to a responder and reads their frames back. The frame subscription exists before the turn is
 * started, so the first frame cannot be missed; a refused turn (no responder, no inference) throws before any
 * response byte is written, so the client gets a plain HTTP error with `Retry-After`.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  FrameSchema,
  Subjects,
  TurnAcceptedSchema,
  liveFramesSubject,
  turnCancelSubject,
  turnFramesSubject,
  type Cancel,
  type Frame,
  type TurnLimits,
  type TurnStart,
} from '@parley/contracts';
import type { GatewayConfig } from '@parley/config';
import { SequenceReader, encode, request, type NatsHandle } from '@parley/messaging';
import type { Logger } from '@parley/tracing';
import { Tokens } from '../tokens.js';

/**
 * The gateway waits a little longer than the responder's own timeouts, so that a slow model is reported by
 * the responder with its precise code and only a silent responder shows up as `responder_lost`.
 */
const RESPONDER_MARGIN_MS = 1_000;

export type FrameReader = SequenceReader<typeof FrameSchema>;

export interface RunningTurn {
  /** The turn's frames in order; a failure to read them (a lost responder) also cancels the turn. */
  frames: AsyncIterable<Frame>;
  /** Stops reading; the turn itself goes on (a conversation turn completes and is stored). */
  close(): void;
  /** Stops reading and tells the responder and inference to stop. */
  cancel(reason: Cancel['reason']): void;
}

@Injectable()
export class TurnClient {
  constructor(
    @Inject(Tokens.config) private readonly config: GatewayConfig,
    @Inject(Tokens.nats) private readonly nats: NatsHandle,
    @Inject(Tokens.log) private readonly log: Logger,
  ) {}

  /** The timeouts every hop of a turn honours. */
  limits(): TurnLimits {
    return {
      firstTokenTimeoutMs: this.config.PARLEY_FIRST_TOKEN_TIMEOUT_MS,
      interTokenTimeoutMs: this.config.PARLEY_INTER_TOKEN_TIMEOUT_MS,
      turnTimeoutMs: this.config.PARLEY_TURN_TIMEOUT_MS,
    };
  }

  /** Call inside the request's span: the turn's NATS hop becomes its child. */
  async start(turn: TurnStart): Promise<RunningTurn> {
    const { limits } = turn;
    const margin = Math.min(RESPONDER_MARGIN_MS, Math.floor(limits.interTokenTimeoutMs / 2));
    const frames: FrameReader = new SequenceReader(this.nats.nc, {
      subject: turn.kind === 'conversation' ? turnFramesSubject(turn.turnId) : liveFramesSubject(turn.turnId),
      schema: FrameSchema,
      isTerminal: (frame) => frame.type !== 'delta',
      firstItemTimeoutMs: limits.firstTokenTimeoutMs + margin,
      idleTimeoutMs: limits.interTokenTimeoutMs + margin,
      totalTimeoutMs: limits.turnTimeoutMs + margin,
      timeoutCodes: { first: 'responder_lost', idle: 'responder_lost', total: 'turn_timeout' },
      what: 'turn frames',
    });
    try {
      await request(this.nats.nc, {
        subject: Subjects.turnStart,
        payload: turn,
        schema: TurnAcceptedSchema,
        timeoutMs: this.config.PARLEY_REQUEST_TIMEOUT_MS,
        traced: true,
        unavailable: 'no_responder',
      });
    } catch (error) {
      frames.close();
      throw error;
    }
    let cancelled = false;
    const cancel = (reason: Cancel['reason']) => {
      if (cancelled) return;
      cancelled = true;
      frames.close();
      this.nats.nc.publish(turnCancelSubject(turn.turnId), encode({ reason } satisfies Cancel));
      this.log.debug({ turnId: turn.turnId, reason }, 'turn cancelled');
    };
    // Without this, a generation whose responder died would run on upstream until its own total timeout.
    async function* guarded(): AsyncGenerator<Frame> {
      try {
        yield* frames;
      } catch (error) {
        cancel('timeout');
        throw error;
      }
    }
    return { frames: guarded(), close: () => frames.close(), cancel };
  }
}
