/**
 * What the deployment files need to know of inference's routing file (PARLEY_MODELS_FILE): its targets, the
 * model name each asks its upstream for, and the environment variables that hold keys (`apiKeyEnv`).
 * The full validation lives in apps/inference; this reads only the fields that must agree with the manifests.
 */
import { parse } from 'yaml';
import { isObject } from './manifests.js';

export interface RoutingTarget {
  name: string;
  provider: string;
  baseUrl?: string;
  model?: string;
  apiKeyEnv?: string;
  /** Streams in flight per inference replica (the bulkhead); a static target has none. */
  maxConcurrency?: number;
}

/** A model alias and the targets its conversations are split over, by weight. */
export interface RoutingModel {
  alias: string;
  split: { target: string; weight: number }[];
}

export interface RoutingSummary {
  targets: RoutingTarget[];
  models: RoutingModel[];
  /** Problems found: a model naming a target that does not exist, a file that is not a routing file. */
  problems: string[];
}

export function readRouting(text: string, source: string): RoutingSummary {
  const file: unknown = parse(text);
  if (!isObject(file) || !isObject(file.targets) || !isObject(file.models)) {
    return { targets: [], models: [], problems: [`${source}: expected top-level "targets" and "models" maps`] };
  }
  const problems: string[] = [];
  const targets = Object.entries(file.targets).map(([name, raw]): RoutingTarget => {
    const t = isObject(raw) ? raw : {};
    const str = (key: string) => (typeof t[key] === 'string' ? t[key] : undefined);
    return {
      name,
      provider: str('provider') ?? '?',
      baseUrl: str('baseUrl'),
      model: str('model'),
      apiKeyEnv: str('apiKeyEnv'),
      maxConcurrency: typeof t.maxConcurrency === 'number' ? t.maxConcurrency : undefined,
    };
  });
  const models: RoutingModel[] = [];
  const names = new Set(targets.map((t) => t.name));
  for (const [alias, raw] of Object.entries(file.models)) {
    const model = isObject(raw) ? raw : {};
    const split = Array.isArray(model.split) ? model.split : [];
    if (split.length === 0) problems.push(`${source}: model "${alias}" has no split targets`);
    models.push({
      alias,
      split: split.flatMap((s: unknown) =>
        isObject(s) && typeof s.target === 'string' ? [{ target: s.target, weight: Number(s.weight ?? 1) }] : [],
      ),
    });
    const used = [
      ...split.map((s: unknown) => (isObject(s) ? s.target : undefined)),
      ...(Array.isArray(model.fallbacks) ? model.fallbacks : []),
    ];
    for (const name of used) {
      if (typeof name !== 'string' || !names.has(name)) {
        problems.push(`${source}: model "${alias}" uses unknown target "${String(name)}"`);
      }
    }
  }
  return { targets, models, problems };
}

/** The host and port of an http(s) URL, e.g. `{ host: 'vllm', port: 8000 }` for `http://vllm:8000/v1`. */
export function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { host: parsed.hostname, port };
}

/** The value of `--flag=value` or `--flag value` in a command line. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    if (arg === flag) return args[i + 1];
  }
  return undefined;
}
