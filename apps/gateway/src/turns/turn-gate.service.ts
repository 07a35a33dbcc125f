/**
 * The one gate before every turn. `/v1/chat/completions` and conversation messages both start their turns
 * here, with the caller (key, project, visitor, address) known: each pre-turn check runs in order before
 * anything is stored or any model is called. Limits, budgets, guardrails and caching are checks in this
 * list and live nowhere else.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ParleyError, type Frame, type TurnStart } from '@parley/contracts';
import { accountOf, type Caller } from '../auth/caller.js';
import { GatewayMetrics, type TurnRoute } from '../metrics/metrics.js';
import { Tokens } from '../tokens.js';
import { TurnClient, type RunningTurn } from './turn-client.service.js';

/**
 * A check a turn passes before it starts. A refusal throws a `ParleyError` (429 with `Retry-After`, 400…),
 * which the client gets as a plain HTTP error; nothing of the turn exists yet. A check may fill in what the
 * caller left to defaults (`params.max_tokens`), and may hold something for the turn (a reservation), which
 * it is told the fate of.
 */
export interface PreTurnCheck {
  /** Names the check in logs and metrics. */
  readonly name: string;
  admit(caller: Caller, turn: TurnStart): Promise<TurnHold | void>;
}

/** What a check holds for an admitted turn. */
export interface TurnHold {
  /** Response headers that describe it (rate-limit state). */
  readonly headers?: Record<string, string>;
  /** The turn started. */
  started(turnId: string): void;
  /** A later check refused the turn, or it could not be started. */
  refused(): Promise<void>;
}

/** A started turn and the headers its admission set. */
export interface OpenedTurn {
  running: RunningTurn;
  headers: Record<string, string>;
}

/** A turn as a route builds it: everything but the limits, which the gateway decides once for every hop. */
export type TurnDraft = TurnStart extends infer T ? (T extends unknown ? Omit<T, 'limits'> : never) : never;

@Injectable()
export class TurnGate {
  constructor(
    @Inject(TurnClient) private readonly turns: TurnClient,
    @Inject(Tokens.preTurnChecks) private readonly checks: readonly PreTurnCheck[],
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
  ) {}

  /** Runs every check, then starts the turn. Call inside the request's span. */
  async open(caller: Caller, draft: TurnDraft): Promise<OpenedTurn> {
    const started = performance.now();
    const route: TurnRoute = draft.kind === 'stateless' ? 'chat_completions' : 'conversation';
    const turn = {
      ...draft,
      params: { ...draft.params },
      limits: this.turns.limits(),
      account: accountOf(caller),
    } as TurnStart;
    const holds: TurnHold[] = [];
    let running: RunningTurn;
    try {
      for (const check of this.checks) {
        const hold = await check.admit(caller, turn);
        if (hold) holds.push(hold);
      }
      running = await this.turns.start(turn);
    } catch (error) {
      await Promise.all(holds.map((hold) => hold.refused()));
      const code = error instanceof ParleyError ? error.code : 'internal_error';
      this.metrics.turnOutcomes.inc({ route, model: turn.model, outcome: code });
      throw error;
    }
    for (const hold of holds) hold.started(turn.turnId);
    return {
      running: this.observed(running, { route, model: turn.model, started }),
      headers: Object.assign({}, ...holds.map((hold) => hold.headers ?? {})) as Record<string, string>,
    };
  }

  /** The same turn, its first token timed and its end counted as the client sees them. */
  private observed(
    running: RunningTurn,
    { route, model, started }: { route: TurnRoute; model: string; started: number },
  ): RunningTurn {
    const { turnOutcomes, timeToFirstToken } = this.metrics;
    let counted = false;
    // Counted at the terminal frame, before it is handed on: a reader may stop there without ending the loop.
    const count = (outcome: string) => {
      if (counted) return;
      counted = true;
      turnOutcomes.inc({ route, model, outcome });
    };
    async function* items(): AsyncGenerator<Frame> {
      let first = true;
      try {
        for await (const frame of running.items) {
          if (first && (frame.type === 'delta' || frame.type === 'tool_call')) {
            first = false;
            timeToFirstToken.observe({ route, model }, (performance.now() - started) / 1000);
          }
          if (frame.type === 'done') count(frame.finishReason === 'cancelled' ? 'cancelled' : 'done');
          else if (frame.type === 'error') count(frame.error.code);
          yield frame;
        }
      } catch (error) {
        count(error instanceof ParleyError ? error.code : 'internal_error');
        throw error;
      } finally {
        count('client_left');
      }
    }
    return {
      accepted: running.accepted,
      items: items(),
      get buffered() {
        return running.buffered;
      },
      close: () => running.close(),
      cancel: (reason) => running.cancel(reason),
    };
  }
}
