/**
 * The environment variables each service reads, taken from its zod schema in @parley/config, so that a
 * renamed or removed variable makes the deployment files fail their checks instead of being silently ignored.
 */
import { gatewayEnvSchema, inferenceEnvSchema, responderEnvSchema } from '@parley/config';

export const PARLEY_SERVICES = ['gateway', 'responder', 'inference'] as const;
export type ParleyService = (typeof PARLEY_SERVICES)[number];

/** The variables llm-sim reads (apps/llm-sim/src/config.ts; an app, so not importable from here). */
export const LLM_SIM_ENV = new Set([
  'LLM_SIM_PORT',
  'LLM_SIM_HOST',
  'LLM_SIM_MODEL',
  'LLM_SIM_TTFT_MS',
  'LLM_SIM_INTER_TOKEN_MS',
  'LLM_SIM_TOKENS',
  'LLM_SIM_BURST',
  'LLM_SIM_SEED',
]);

/** Variable names each service's configuration schema accepts. */
export function serviceEnvNames(service: ParleyService): Set<string> {
  // responderEnvSchema carries a .refine; in zod 4 a refinement is a check on the same object schema, so
  // `.shape` is still the object's keys.
  const shape = { gateway: gatewayEnvSchema, responder: responderEnvSchema, inference: inferenceEnvSchema }[service]
    .shape;
  return new Set(Object.keys(shape));
}

export function isParleyService(name: string): name is ParleyService {
  return PARLEY_SERVICES.some((service) => service === name);
}
