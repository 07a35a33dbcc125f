/**
 * Builds the routes from the routing file, or, without one, a single alias from the `PARLEY_UPSTREAM_*`
 * variables; and reloads the file on change or SIGHUP, keeping the old routes when the new file is bad.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  RoutingFileError,
  envValue,
  parseRoutingFile,
  type InferenceConfig,
  type RoutingFile,
  type TargetConfig,
} from '@parley/config';
import type { Logger } from '@parley/tracing';
import type { InferenceProviderOrPolicy } from '@huggingface/inference';
import { HuggingFaceProvider } from '../providers/huggingface.provider.js';
import { OpenAICompatibleProvider } from '../providers/openai-compatible.provider.js';
import { StaticReplyProvider } from '../providers/static.provider.js';
import type { ModelRoute, Router, Target } from './router.js';
import { DEFAULT_GUARD, TargetGuard, type GuardOptions } from './target-guard.js';

/** Editors write a file in several steps; wait for them to settle before reading. */
const RELOAD_DEBOUNCE_MS = 200;

export function loadRoutes(config: InferenceConfig): Map<string, ModelRoute> {
  if (!config.PARLEY_MODELS_FILE) {
    const target: Target = {
      name: 'default',
      upstreamModel: config.PARLEY_UPSTREAM_MODEL,
      provider: new OpenAICompatibleProvider({
        baseUrl: config.PARLEY_UPSTREAM_BASE_URL,
        apiKey: config.PARLEY_UPSTREAM_API_KEY,
        requestTimeoutMs: config.PARLEY_UPSTREAM_TIMEOUT_MS,
      }),
      guard: guardFor('default', DEFAULT_GUARD),
    };
    const alias = config.PARLEY_MODEL_ALIAS ?? config.PARLEY_UPSTREAM_MODEL;
    return new Map([[alias, { split: [{ target, weight: 1 }], fallbacks: [] }]]);
  }
  const path = config.PARLEY_MODELS_FILE;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RoutingFileError(`PARLEY_MODELS_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
  return buildRoutes(parseRoutingFile(text, path), config);
}

export function buildRoutes(file: RoutingFile, config: InferenceConfig): Map<string, ModelRoute> {
  const targets = new Map(Object.entries(file.targets).map(([name, t]) => [name, buildTarget(name, t, config)]));
  return new Map(
    Object.entries(file.models).map(([alias, model]) => [
      alias,
      {
        split: model.split.map((s) => ({ target: targets.get(s.target)!, weight: s.weight })),
        fallbacks: model.fallbacks.map((name) => targets.get(name)!),
      },
    ]),
  );
}

/**
 * Guards by target name, kept across reloads while a target's limits stay the same, so that a reload does
 * not reset breakers or forget the streams in flight.
 */
const guards = new Map<string, TargetGuard>();

function guardFor(name: string, options: GuardOptions): TargetGuard {
  const existing = guards.get(name);
  if (existing && JSON.stringify(existing.options) === JSON.stringify(options)) return existing;
  const guard = new TargetGuard(name, options);
  guards.set(name, guard);
  return guard;
}

function buildTarget(name: string, target: TargetConfig, config: InferenceConfig): Target {
  if (target.provider === 'static') {
    return { name, upstreamModel: 'static', provider: new StaticReplyProvider(target.reply) };
  }
  let apiKey: string | undefined;
  if (target.apiKeyEnv) {
    apiKey = envValue(target.apiKeyEnv);
    if (!apiKey) throw new RoutingFileError(`target "${name}": environment variable ${target.apiKeyEnv} is not set`);
  }
  const provider =
    target.provider === 'huggingface'
      ? new HuggingFaceProvider({
          name,
          accessToken: apiKey,
          endpointUrl: target.endpointUrl,
          hfProvider: target.hfProvider as InferenceProviderOrPolicy | undefined,
          sessionHeader: target.sessionHeader,
        })
      : new OpenAICompatibleProvider({
          name,
          baseUrl: target.baseUrl,
          apiKey,
          requestTimeoutMs: target.timeoutMs ?? config.PARLEY_UPSTREAM_TIMEOUT_MS,
          sessionHeader: target.sessionHeader,
          transport: target.transport,
        });
  const { breaker = {} } = target;
  return {
    name,
    upstreamModel: target.model,
    provider,
    guard: guardFor(name, {
      ...DEFAULT_GUARD,
      ...defined({
        maxConcurrency: target.maxConcurrency,
        maxQueue: target.maxQueue,
        retries: target.retries,
        firstTokenTimeoutMs: target.firstTokenTimeoutMs,
        breakerFailureRatio: breaker.failureRatio,
        breakerWindow: breaker.window,
        breakerMinimumCalls: breaker.minimumCalls,
        breakerCooldownMs: breaker.cooldownMs,
      }),
    }),
  };
}

/** The object without its undefined fields, so they do not override defaults. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Reloads the routing file when it changes or on SIGHUP. A file that fails validation is rejected with a
 * logged reason and the routes in use stay. Returns a function that stops watching.
 */
export function watchRoutes(router: Router, config: InferenceConfig, log: Logger): () => void {
  const path = config.PARLEY_MODELS_FILE;
  if (!path) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const reload = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        router.replace(loadRoutes(config));
        log.info({ file: path, reason, models: router.list().models.map((m) => m.id) }, 'routing reloaded');
      } catch (error) {
        log.error(
          { file: path, reason, problem: (error as Error).message },
          'routing file rejected; keeping the routes in use',
        );
      }
    }, RELOAD_DEBOUNCE_MS);
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | undefined;
  try {
    // The directory, not the file: editors and ConfigMap updates replace the file rather than write to it.
    watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === basename(path) || file.startsWith('..')) reload('file changed');
    });
  } catch (error) {
    log.warn({ file: path, err: error }, 'cannot watch the routing file; reload with SIGHUP');
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
    process.off('SIGHUP', onHup);
  };
}
