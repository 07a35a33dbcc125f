/**
 * The one gate before every turn. `/v1/chat/completions` and conversation messages both start their turns
 * here, with the caller (key, project, visitor, address) known: each pre-turn check runs in order before
 * anything is stored or any model is called. Limits, budgets, guardrails and caching are checks in this
 * list and live nowhere else.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { TurnStart } from '@parley/contracts';
import type { Caller } from '../auth/caller.js';
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
  ) {}

  /** Runs every check, then starts the turn. Call inside the request's span. */
  async open(caller: Caller, draft: TurnDraft): Promise<OpenedTurn> {
    const turn = {
      ...draft,
      params: { ...draft.params },
      limits: this.turns.limits(),
      account: {
        project: caller.project,
        keyId: caller.keyId,
        ...(caller.visitor ? { visitorId: caller.visitor.visitorId } : {}),
      },
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
      throw error;
    }
    for (const hold of holds) hold.started(turn.turnId);
    return {
      running,
      headers: Object.assign({}, ...holds.map((hold) => hold.headers ?? {})) as Record<string, string>,
    };
  }
}
