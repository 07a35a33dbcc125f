/**
 * Checks of the compose file: it parses, its images are pinned, every file it mounts or builds from exists,
 * and the services get only the variables their configuration reads.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { LLM_SIM_ENV, isParleyService, serviceEnvNames } from './env-names.js';
import { imageProblems } from './k8s-policy.js';
import { isObject } from './manifests.js';
import { flagValue, hostAndPort, keyVariables, readRouting, type RoutingSummary } from './routing.js';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  secrets?: (string | { source: string })[];
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/**
 * Compose's variable interpolation with every variable unset: `${A:-x}` and `${A-x}` give x, `${A:?msg}`,
 * `${A}` and `$A` give a placeholder, `$$` gives `$`. What remains must be a valid file on any machine.
 */
export function interpolate(text: string): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, _n, op, arg) => {
      if (match === '$$') return '$';
      if (op === ':-' || op === '-') return String(arg);
      return 'unset';
    },
  );
}

/** Parses a compose file (YAML merge keys on, as Compose does) after interpolation. */
export function parseCompose(text: string): ComposeFile {
  const value: unknown = parse(interpolate(text), { merge: true });
  if (!isObject(value) || !isObject(value.services)) throw new Error('compose file: no services');
  return value as unknown as ComposeFile;
}

function environment(service: ComposeService): Map<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)] as const)
    : Object.entries(env).map(([key, value]) => [key, String(value ?? '')] as const);
  return new Map(entries);
}

function commandArgs(service: ComposeService): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command : command.split(/\s+/);
}

/** Bind mounts as [host path relative to the compose file, container path]. */
function bindMounts(service: ComposeService): [string, string][] {
  return (service.volumes ?? []).flatMap((volume): [string, string][] => {
    if (typeof volume === 'string') {
      const [source = '', target = ''] = volume.split(':');
      return source.startsWith('.') || source.startsWith('/') ? [[source, target]] : [];
    }
    return volume.type === 'bind' && volume.source && volume.target ? [[volume.source, volume.target]] : [];
  });
}

/** Every problem of a compose file at `file` (paths resolve relative to its directory, as Compose does). */
export function composeProblems(compose: ComposeFile, file: string): string[] {
  const problems: string[] = [];
  const base = dirname(resolve(file));
  for (const [name, service] of Object.entries(compose.services)) {
    const where = `compose service ${name}`;
    problems.push(...imageProblems(service.image, where));
    if (service.build !== undefined) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      const context = join(base, build.context ?? '.');
      if (!existsSync(context)) problems.push(`${where}: build context ${build.context} does not exist`);
      const dockerfile = join(context, build.dockerfile ?? 'Dockerfile');
      if (!existsSync(dockerfile))
        problems.push(`${where}: Dockerfile ${build.dockerfile ?? 'Dockerfile'} does not exist`);
    }
    for (const [source] of bindMounts(service)) {
      if (!existsSync(join(base, source))) problems.push(`${where}: mounted ${source} does not exist`);
    }
    for (const secret of service.secrets ?? []) {
      const secretName = typeof secret === 'string' ? secret : secret.source;
      if (!compose.secrets?.[secretName]) problems.push(`${where}: secret ${secretName} is not defined`);
    }
    const env = environment(service);
    const allowed = isParleyService(name)
      ? serviceEnvNames(name)
      : name === 'llm-sim'
        ? new Set(LLM_SIM_ENV)
        : undefined;
    if (allowed && name === 'inference') {
      for (const variable of keyVariables(composeRouting(compose, service, base).targets)) allowed.add(variable);
    }
    for (const key of allowed ? env.keys() : []) {
      if (!allowed!.has(key)) problems.push(`${where}: ${key} is not a variable ${name} reads`);
    }
  }
  for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
    if (secret.file && !existsSync(join(base, secret.file)))
      problems.push(`compose secret ${name}: ${secret.file} is missing`);
  }
  const inference = compose.services.inference;
  if (inference) problems.push(...composeRouting(compose, inference, base).problems);
  return problems;
}

/**
 * The routing files inference can be pointed at: the PARLEY_MODELS_FILE path with its defaults must exist, and
 * every `models.*.yaml` beside it (the variants a variable picks) is read. Each target inside the stack must be
 * a compose service serving the model the target asks for.
 */
function composeRouting(compose: ComposeFile, inference: ComposeService, base: string): RoutingSummary {
  const result: RoutingSummary = { targets: [], models: [], problems: [] };
  const path = environment(inference).get('PARLEY_MODELS_FILE');
  if (!path) return result;
  const mount = bindMounts(inference).find(([, target]) => path.startsWith(`${target}/`));
  if (!mount) {
    return { ...result, problems: [`inference: PARLEY_MODELS_FILE ${path} is not in a mounted directory`] };
  }
  const dir = join(base, mount[0]);
  if (!existsSync(join(dir, path.slice(mount[1].length + 1)))) {
    result.problems.push(`inference: PARLEY_MODELS_FILE ${path} does not exist in ${mount[0]}`);
  }
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^models\..+\.ya?ml$/.test(f)) : [];
  for (const file of files) {
    const routing = readRouting(readFileSync(join(dir, file), 'utf8'), file);
    result.targets.push(...routing.targets);
    result.problems.push(...routing.problems);
    for (const target of routing.targets) {
      if (target.provider !== 'openai-compatible' || !target.baseUrl) continue;
      const { host } = hostAndPort(target.baseUrl);
      if (host.includes('.')) continue;
      const server = compose.services[host];
      if (!server) {
        result.problems.push(`${file}: target ${target.name} points at ${host}, which is not a compose service`);
        continue;
      }
      const served = flagValue(commandArgs(server), '--served-model-name') ?? environment(server).get('LLM_SIM_MODEL');
      if (served !== target.model) {
        result.problems.push(`${file}: target ${target.name} asks for ${target.model}, ${host} serves ${served}`);
      }
    }
  }
  return result;
}
