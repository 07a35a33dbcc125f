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

/**
 * Variables the deployment files give a service ahead of its schema, for code that is landing beside them:
 * PARLEY_REDIS_URL, the gateway's store for the counters its replicas share (rate limits, token budgets,
 * concurrency leases). Delete a name here once the service's schema has it.
 */
export const ANNOUNCED_ENV: Record<ParleyService, readonly string[]> = {
  gateway: [],
  responder: [],
  inference: [],
};

/** Variable names each service's configuration schema accepts, and those announced for it. */
export function serviceEnvNames(service: ParleyService): Set<string> {
  // responderEnvSchema carries a .refine; in zod 4 a refinement is a check on the same object schema, so
  // `.shape` is still the object's keys.
  const shape = { gateway: gatewayEnvSchema, responder: responderEnvSchema, inference: inferenceEnvSchema }[service]
    .shape;
  return new Set([...Object.keys(shape), ...ANNOUNCED_ENV[service]]);
}

export function isParleyService(name: string): name is ParleyService {
  return PARLEY_SERVICES.some((service) => service === name);
}
