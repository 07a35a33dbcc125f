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
 * which the client gets as a plain HTTP error; nothing of the turn exists yet.
 */
export interface PreTurnCheck {
  /** Names the check in logs and metrics. */
  readonly name: string;
  admit(caller: Caller, turn: TurnStart): Promise<void>;
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
  async open(caller: Caller, draft: TurnDraft): Promise<RunningTurn> {
    const turn = { ...draft, limits: this.turns.limits() } as TurnStart;
    for (const check of this.checks) await check.admit(caller, turn);
    return this.turns.start(turn);
  }
}
