/**
 * What the deployment files need to know of inference's routing file (PARLEY_MODELS_FILE): its targets, the
 * model name each asks its upstream for, and the environment variables that hold keys (`apiKeyEnv`). The file
 * is validated as inference validates it (`parseRoutingFile` of @parley/config).
 */
import { RoutingFileError, parseRoutingFile, type TargetConfig } from '@parley/config';

/** A target of the routing file, with its name. */
export type RoutingTarget = TargetConfig & { name: string };

/** A model alias and the targets its conversations are split over, by weight. */
export interface RoutingModel {
  alias: string;
  split: { target: string; weight: number }[];
}

export interface RoutingSummary {
  targets: RoutingTarget[];
  models: RoutingModel[];
  /** Why the file would stop inference, as inference would log it; empty for a valid file. */
  problems: string[];
}

/** The targets and models of a valid routing file, or none and the file's first problem. */
export function readRouting(text: string, source: string): RoutingSummary {
  try {
    const file = parseRoutingFile(text, source);
    return {
      targets: Object.entries(file.targets).map(([name, target]) => ({ name, ...target })),
      models: Object.entries(file.models).map(([alias, model]) => ({ alias, split: model.split })),
      problems: [],
    };
  } catch (error) {
    if (!(error instanceof RoutingFileError)) throw error;
    return { targets: [], models: [], problems: [error.message] };
  }
}

/** The environment variables the targets read their keys from (`apiKeyEnv`). */
export function keyVariables(targets: readonly RoutingTarget[]): string[] {
  return targets.flatMap((target) => ('apiKeyEnv' in target && target.apiKeyEnv ? [target.apiKeyEnv] : []));
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
