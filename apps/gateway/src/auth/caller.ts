/**
 * Who is calling, as the authentication guard found it: what every route and the turn gate know of a caller.
 */
import { ParleyError, type Account, type Limits, type Scope } from '@parley/contracts';
import type { Request } from 'express';
import type { Visitor } from './visitor-tokens.js';

/** An API key, or a widget visitor (whose conversations the widget key owns). */
export interface Caller {
  /** The owner of the caller's conversations: an API key's id or a widget key's id. */
  keyId: string;
  /** The project (tenant) the key belongs to. */
  project: string;
  /** Set for a widget visitor's token. */
  visitor?: Visitor;
  /** The client's address (see `clientAddress`), for limits per address. */
  address: string;
  /** What the key may do; a visitor's token reaches only the routes marked for visitors. */
  scopes: ReadonlySet<Scope>;
  /** Model aliases the caller may use (the key's and the project's lists both apply); any when undefined. */
  models?: ReadonlySet<string>;
  /** The limits the caller's turns count against. */
  limits: { project?: Limits; key?: Limits };
  /**
   * May use the parameters that expose or steer token probabilities (`logprobs`, `top_logprobs`, `logit_bias`,
   * which help extract a model); refused with a 400 otherwise. The project's `allowLogprobs`, or
   * `PARLEY_ALLOW_LOGPROBS` where the project does not say.
   */
  allowLogprobs: boolean;
  /** The project's system prompt, before each conversation's own. */
  systemPrompt?: string;
}

type AuthenticatedRequest = Request & { caller?: Caller };

/** Records the authenticated caller on the request (the guard's job). */
export function setCaller(req: Request, caller: Caller): void {
  (req as AuthenticatedRequest).caller = caller;
}

/** The authenticated caller, set by the `ApiKeyGuard`. */
export function callerOf(req: Request): Caller {
  const caller = (req as AuthenticatedRequest).caller;
  if (!caller) throw new ParleyError('unauthorized', 'missing API key');
  return caller;
}

/** A key or project limited to some models may use only those: `403 forbidden` naming `model` otherwise. */
export function assertModelAllowed(caller: Caller, model: string): void {
  if (caller.models && !caller.models.has(model)) {
    throw new ParleyError('forbidden', `this key may not use model "${model}"`, { param: 'model' });
  }
}

/** Who the caller's consumption is counted against, in usage records. */
export function accountOf(caller: Caller): Account {
  return {
    project: caller.project,
    keyId: caller.keyId,
    ...(caller.visitor ? { visitorId: caller.visitor.visitorId } : {}),
  };
}
