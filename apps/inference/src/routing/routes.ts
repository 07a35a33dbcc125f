/**
 * The routes, in two steps: `loadRouting` reads and validates the routing file (or, without one, the
 * `PARLEY_UPSTREAM_*` variables) before anything connects; a `RouteBuilder` turns that into providers and
 * guards with the connected service context. `watchRoutes` reloads the file on change or SIGHUP, keeping the
 * routes in use when the new file is bad.
 */
import { readFileSync } from 'node:fs';
import {
  RoutingFileError,
  envValue,
  parseRoutingFile,
  watchConfigFile,
  type InferenceConfig,
  type RoutingFile,
  type TargetConfig,
} from '@parley/config';
import type { Logger } from '@parley/tracing';
import { createProvider, type ProviderContext, type TargetSpec } from '../providers/registry.js';
import type { ModelRoute, Router, Target } from './router.js';
import { DEFAULT_GUARD, TargetGuard, type GuardOptions } from './target-guard.js';
import { dropParamsOf } from './target-params.js';
import { ShadowBudget, type ShadowLimits } from '../shadow/shadow.js';

/** A validated routing: every target it names exists and has its key. */
export interface Routing {
  targets: TargetSpec[];
  models: RoutingFile['models'];
  /** `maxTokens` of an alias that sets none. */
  maxTokens: { default: number; max: number };
}

/**
 * The routing file's routes, or one alias served by the `PARLEY_UPSTREAM_*` target. Connects to nothing.
 * @throws RoutingFileError when the file cannot be read, is invalid, or names a key variable that is unset.
 */
export function loadRouting(config: InferenceConfig): Routing {
  if (!config.PARLEY_MODELS_FILE) return upstreamRouting(config);
  const path = config.PARLEY_MODELS_FILE;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RoutingFileError(`PARLEY_MODELS_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
  const file = parseRoutingFile(text, path);
  return {
    targets: Object.entries(file.targets).map(([name, target]) => withKey(name, target)),
    models: file.models,
    maxTokens: maxTokensDefaults(config),
  };
}

function upstreamRouting(config: InferenceConfig): Routing {
  const target: TargetSpec = {
    name: 'default',
    config: {
      provider: 'openai-compatible',
      baseUrl: config.PARLEY_UPSTREAM_BASE_URL,
      model: config.PARLEY_UPSTREAM_MODEL,
    },
    apiKey: config.PARLEY_UPSTREAM_API_KEY,
  };
  const alias = config.PARLEY_MODEL_ALIAS ?? config.PARLEY_UPSTREAM_MODEL;
  return {
    targets: [target],
    models: { [alias]: { kind: 'chat', split: [{ target: 'default', weight: 1 }], fallbacks: [] } },
    maxTokens: maxTokensDefaults(config),
  };
}

function maxTokensDefaults(config: InferenceConfig): Routing['maxTokens'] {
  const max = config.PARLEY_MAX_TOKENS_LIMIT;
  return { default: Math.min(config.PARLEY_DEFAULT_MAX_TOKENS, max), max };
}

function withKey(name: string, config: TargetConfig): TargetSpec {
  dropParamsOf(config.dropParams, name); // refuses a file that names an unknown parameter
  if (!('apiKeyEnv' in config) || !config.apiKeyEnv) return { name, config };
  const apiKey = envValue(config.apiKeyEnv);
  if (!apiKey) throw new RoutingFileError(`target "${name}": environment variable ${config.apiKeyEnv} is not set`);
  return { name, config, apiKey };
}

/**
 * Builds routes from validated routings. Guards are kept by target name across builds while a target's limits
 * stay the same, so that a reload does not reset breakers or forget the streams in flight.
 */
export class RouteBuilder {
  private readonly guards = new Map<string, TargetGuard>();
  private readonly budgets = new Map<string, ShadowBudget>();

  constructor(private readonly context: ProviderContext) {}

  build(routing: Routing): Map<string, ModelRoute> {
    const targets = new Map(routing.targets.map((spec) => [spec.name, this.target(spec)]));
    return new Map(
      Object.entries(routing.models).map(([alias, model]) => [
        alias,
        {
          kind: model.kind,
          split: model.split.map((s) => ({ target: targets.get(s.target)!, weight: s.weight })),
          fallbacks: model.fallbacks.map((name) => targets.get(name)!),
          maxTokens: maxTokensOf(model, routing.maxTokens),
          ...(model.shadow && {
            shadow: {
              target: targets.get(model.shadow.target)!,
              share: model.shadow.share,
              budget: this.budgetFor(alias, model.shadow),
            },
          }),
        },
      ]),
    );
  }

  /** The alias's shadow budget, kept across reloads while its limits stay (its running calls stay counted). */
  private budgetFor(alias: string, { maxConcurrent, perMinute }: ShadowLimits): ShadowBudget {
    const existing = this.budgets.get(alias);
    if (existing?.limits.maxConcurrent === maxConcurrent && existing.limits.perMinute === perMinute) return existing;
    const budget = new ShadowBudget({ maxConcurrent, perMinute });
    this.budgets.set(alias, budget);
    return budget;
  }

  private target(spec: TargetSpec): Target {
    const { name, config } = spec;
    const provider = createProvider(spec, this.context);
    const dropParams = dropParamsOf(config.dropParams, name);
    // A fixed reply has no upstream to protect: no slots, retries or breaker.
    if (config.provider === 'static') return { name, upstreamModel: 'static', provider, dropParams };
    const { breaker = {} } = config;
    return {
      name,
      upstreamModel: config.model,
      provider,
      dropParams,
      price: config.price,
      guard: this.guardFor(name, {
        ...DEFAULT_GUARD,
        ...defined({
          maxConcurrency: config.maxConcurrency,
          maxQueue: config.maxQueue,
          retries: config.retries,
          firstTokenTimeoutMs: config.firstTokenTimeoutMs,
          breakerFailureRatio: breaker.failureRatio,
          breakerWindow: breaker.window,
          breakerMinimumCalls: breaker.minimumCalls,
          breakerCooldownMs: breaker.cooldownMs,
        }),
      }),
    };
  }

  private guardFor(name: string, options: GuardOptions): TargetGuard {
    const existing = this.guards.get(name);
    if (existing && JSON.stringify(existing.options) === JSON.stringify(options)) return existing;
    const guard = new TargetGuard(name, options, { log: this.context.log });
    this.guards.set(name, guard);
    return guard;
  }
}

/** An alias's `maxTokens`, each half from the defaults when unset (a default never above the maximum). */
function maxTokensOf(model: RoutingFile['models'][string], defaults: Routing['maxTokens']): Routing['maxTokens'] {
  const max = model.maxTokens?.max ?? defaults.max;
  return { default: model.maxTokens?.default ?? Math.min(defaults.default, max), max };
}

/** The object without its undefined fields, so they do not override defaults. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Reloads the routing file when it changes or on SIGHUP. A file that fails validation is rejected with a
 * logged reason and the routes in use stay. Returns a function that stops watching.
 */
export function watchRoutes(router: Router, config: InferenceConfig, routes: RouteBuilder, log: Logger): () => void {
  const path = config.PARLEY_MODELS_FILE;
  if (!path) return () => undefined;
  return watchConfigFile(path, {
    reload: (reason) => {
      try {
        router.replace(routes.build(loadRouting(config)));
        log.info({ file: path, reason, models: router.list().models.map((m) => m.id) }, 'routing reloaded');
      } catch (error) {
        log.error(
          { file: path, reason, problem: (error as Error).message },
          'routing file rejected; keeping the routes in use',
        );
      }
    },
    cannotWatch: (error) => log.warn({ file: path, err: error }, 'cannot watch the routing file; reload with SIGHUP'),
  });
}
