/**
 * Which of a request's parameters a target gets. Its routing file's `dropParams` are left out on purpose (and
 * the client is told which); a parameter its provider cannot serve makes the target unfit for the request, so
 * it is never sent somewhere that would ignore it.
 */
import {
  GENERATION_PARAM_NAMES,
  ParleyError,
  type GenerationParamName,
  type GenerationParams,
} from '@parley/contracts';
import { RoutingFileError } from '@parley/config';
import type { Target } from './router.js';

const NONE: ReadonlySet<GenerationParamName> = new Set();

const given = (params: GenerationParams) => GENERATION_PARAM_NAMES.filter((name) => params[name] !== undefined);

/** The request's parameters that `target` drops, in the contract's order. */
export function droppedParams(target: Target, params: GenerationParams): GenerationParamName[] {
  const drops = target.dropParams ?? NONE;
  return given(params).filter((name) => drops.has(name));
}

/** The parameters as `target` gets them: the request's, less those it drops. */
export function paramsFor(target: Target, params: GenerationParams): GenerationParams {
  const drops = target.dropParams ?? NONE;
  if (drops.size === 0) return params;
  return Object.fromEntries(Object.entries(params).filter(([name]) => !drops.has(name as GenerationParamName)));
}

/** The first parameter of the request that `target`'s provider cannot serve and the target does not drop. */
function unservable(target: Target, params: GenerationParams): GenerationParamName | undefined {
  const drops = target.dropParams ?? NONE;
  return given(params).find((name) => target.provider.unsupportedParams.has(name) && !drops.has(name));
}

/**
 * The targets that can serve the request, in routing order. When none can, the request is refused with a 400
 * naming the parameter the first target cannot serve.
 */
export function fittingTargets(targets: Target[], params: GenerationParams, alias: string): Target[] {
  const fitting = targets.filter((target) => unservable(target, params) === undefined);
  if (fitting.length > 0) return fitting;
  const param = unservable(targets[0]!, params)!;
  throw new ParleyError('invalid_request', `model "${alias}" cannot serve the parameter ${param}`, { param });
}

/** Whether two targets drop the same parameters of the request (the response names them once, up front). */
export function dropTheSame(a: Target, b: Target, params: GenerationParams): boolean {
  return droppedParams(a, params).join() === droppedParams(b, params).join();
}

/** A routing file's `dropParams` as a set, after checking each is a parameter the contract knows. */
export function dropParamsOf(names: readonly string[] | undefined, target: string): ReadonlySet<GenerationParamName> {
  const known = new Set<string>(GENERATION_PARAM_NAMES);
  for (const name of names ?? []) {
    if (!known.has(name)) {
      const known = GENERATION_PARAM_NAMES.join(', ');
      throw new RoutingFileError(`target "${target}": dropParams: "${name}" is not a parameter (${known})`);
    }
  }
  return new Set(names as GenerationParamName[] | undefined);
}
