import { createHash } from 'node:crypto';
import {
  ParleyError,
  wrongModelKind,
  type GenerationParamName,
  type ModelKind,
  type ModelsReply,
} from '@parley/contracts';
import type { TargetPrice } from '@parley/config';
import type { ChatProvider } from '../providers/provider.js';
import { pinnedEntry } from './arms.js';
import type { ShadowRoute } from '../shadow/shadow.js';
import type { TargetGuard, TargetState } from './target-guard.js';

/** Somewhere a generation can run: a provider and the model it asks for, behind its guard. */
export interface Target {
  name: string;
  /** The model name the upstream knows (for a static target, `static`). */
  upstreamModel: string;
  provider: ChatProvider;
  /** Concurrency, retries and breaker; none for a static reply. */
  guard?: TargetGuard;
  /** Parameters left out of its requests on purpose (the routing file's `dropParams`). */
  dropParams?: ReadonlySet<GenerationParamName>;
  /** US dollars per million tokens (the routing file's `price`); none: its cost is not counted. */
  price?: TargetPrice;
}

/** What serves one model alias: weighted split targets, then fallbacks in order. */
export interface ModelRoute {
  /** Chat completions or embeddings: an alias serves one of them. */
  kind: ModelKind;
  split: { target: Target; weight: number }[];
  fallbacks: Target[];
  /** Completion tokens when a request names none, and the most it may ask for. */
  maxTokens: { default: number; max: number };
  /** The candidate a share of its turns is also sent to (shadow/shadow.ts). */
  shadow?: ShadowRoute;
}

/**
 * Which targets serve a request for a model alias, in order: the split target chosen for the conversation
 * (sticky: the same conversation always hashes to the same target), then the other split targets and the
 * fallbacks. The routes can be replaced at runtime; turns in flight keep the targets they started with.
 */
export class Router {
  private routes: Map<string, ModelRoute>;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(routes: Map<string, ModelRoute>) {
    this.routes = routes;
  }

  /** Routes every later request by `routes`. */
  replace(routes: Map<string, ModelRoute>): void {
    this.routes = routes;
  }

  /**
   * The targets to try for `alias`, in order. `stickyKey` (the conversation id, or the turn id for stateless
   * requests; the caller's key for embeddings) decides the split target, unless `pinned` names one the alias
   * still splits to (a conversation's arm). The first target is the arm assigned. An alias of the other `kind`
   * is a 400 naming it.
   */
  targets(alias: string, stickyKey: string, kind: ModelKind = 'chat', pinned?: string): Target[] {
    const route = this.routes.get(alias);
    if (!route) throw new ParleyError('model_not_found', `model "${alias}" does not exist`, { param: 'model' });
    if (route.kind !== kind) throw wrongModelKind(alias, route.kind);
    const primary = pinnedEntry(route.split, pinned)?.target ?? pickWeighted(route.split, stickyKey);
    const rest = [...route.split.map((s) => s.target).filter((t) => t !== primary), ...route.fallbacks];
    // Other split targets are fallbacks too, before the configured ones; each target is tried once.
    return [primary, ...rest.filter((t, i) => t !== primary && rest.indexOf(t) === i)];
  }

  /** The alias's shadow, if it has one. */
  shadowOf(alias: string): ShadowRoute | undefined {
    return this.routes.get(alias)?.shadow;
  }

  /** Every distinct target's resilience state (breaker, in flight, queued). */
  targetStates(): TargetState[] {
    const guards = new Set<TargetGuard>();
    for (const route of this.routes.values()) {
      for (const target of [...route.split.map((s) => s.target), ...route.fallbacks])
        if (target.guard) guards.add(target.guard);
    }
    return [...guards].map((guard) => guard.state());
  }

  /** The model aliases clients may ask for. */
  list(): ModelsReply {
    return {
      models: [...this.routes].map(([id, route]) => ({
        id,
        kind: route.kind,
        created: this.created,
        ownedBy: 'parley',
        maxTokens: route.maxTokens,
      })),
    };
  }
}

/** A point in [0, 1) from a key: the same key always gives the same point. */
function stickyPoint(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

function pickWeighted(split: ModelRoute['split'], key: string): Target {
  const total = split.reduce((sum, s) => sum + s.weight, 0);
  let point = stickyPoint(key) * total;
  for (const { target, weight } of split) {
    if (point < weight) return target;
    point -= weight;
  }
  return split.at(-1)!.target;
}
