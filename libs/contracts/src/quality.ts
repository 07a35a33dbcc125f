/**
 * What ties a reply to the model that made it: the arm a conversation was assigned (the split target its
 * alias chose when it started, pinned from then on) and the target and upstream model that actually served
 * (a fallback on failover). Every assistant message, `done` frame and event, usage and feedback record
 * carries these fields; all are optional so that records written before they existed still read.
 */
import { z } from 'zod';

/** The split target a conversation (or a stateless turn) was assigned: one arm of its alias's experiment. */
export const ArmSchema = z.string().min(1).max(128);

/** Assigned arm, and the target and upstream model that served; they differ when a fallback served. */
export const servedFields = {
  arm: ArmSchema.optional(),
  target: z.string().min(1).max(128).optional(),
  upstreamModel: z.string().max(256).optional(),
};

/** The served fields as one type (every field optional). */
export type Served = { arm?: string; target?: string; upstreamModel?: string };

/**
 * The served fields of `value` that are set, and nothing else.
 * @example servedOf(doneFrame) // { arm: 'llama-a', target: 'openai', upstreamModel: 'gpt-4o-mini' }
 */
export function servedOf(value: Served): Served {
  const { arm, target, upstreamModel } = value;
  return {
    ...(arm !== undefined && { arm }),
    ...(target !== undefined && { target }),
    ...(upstreamModel !== undefined && { upstreamModel }),
  };
}

/**
 * The served fields as an OpenAI completion carries them (`parley`, snake_case like the rest of the body), or
 * undefined when none is set.
 */
export function parleyServed(value: Served): { arm?: string; target?: string; upstream_model?: string } | undefined {
  const { arm, target, upstreamModel } = servedOf(value);
  if (arm === undefined && target === undefined && upstreamModel === undefined) return undefined;
  return {
    ...(arm !== undefined && { arm }),
    ...(target !== undefined && { target }),
    ...(upstreamModel !== undefined && { upstream_model: upstreamModel }),
  };
}

/** Response headers naming the arm and the serving target and model (those that are known). */
export function servedHeaders(value: Served): Record<string, string> {
  const { arm, target, upstreamModel } = servedOf(value);
  return {
    ...(arm !== undefined && { 'x-parley-arm': arm }),
    ...(target !== undefined && { 'x-parley-target': target }),
    ...(upstreamModel !== undefined && { 'x-parley-upstream-model': upstreamModel }),
  };
}
