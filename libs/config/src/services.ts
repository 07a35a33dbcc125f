/**
 * The schema of each service's environment. They live together so the README's configuration table and
 * `npm start` have one place to look, and so a variable shared by two services cannot drift.
 */
import { z } from 'zod';
import { commonEnv, flag, httpUrl, list, port, positiveInt } from './config.js';

/** Defaults, with units in the names. */
export const Defaults = {
  GATEWAY_PORT: 3000,
  RESPONDER_OPS_PORT: 9101,
  INFERENCE_OPS_PORT: 9102,
  MAX_MESSAGE_BYTES: 32 * 1024,
  MAX_BODY_BYTES: 1024 * 1024,
  FIRST_TOKEN_TIMEOUT_MS: 30_000,
  INTER_TOKEN_TIMEOUT_MS: 10_000,
  TURN_TIMEOUT_MS: 120_000,
  REQUEST_TIMEOUT_MS: 5_000,
  HISTORY_MAX_MESSAGES: 50,
  CONTEXT_WINDOW_TOKENS: 8_192,
  RESERVED_OUTPUT_TOKENS: 1_024,
  RETENTION_SWEEP_MS: 60 * 60_000,
  UPSTREAM_BASE_URL: 'http://127.0.0.1:8000/v1',
  UPSTREAM_MODEL: 'sim-model',
} as const;

export const gatewayEnvSchema = z.object({
  ...commonEnv,
  PORT: port(Defaults.GATEWAY_PORT),
  HOST: z.string().default('0.0.0.0'),
  PARLEY_API_KEYS: list().optional(),
  PARLEY_API_KEYS_FILE: z.string().optional(),
  /** Keys for the `/v1/admin` routes, comma-separated; without one, those routes answer 401. */
  PARLEY_ADMIN_API_KEYS: list().optional(),
  PARLEY_MAX_MESSAGE_BYTES: positiveInt(Defaults.MAX_MESSAGE_BYTES),
  PARLEY_MAX_BODY_BYTES: positiveInt(Defaults.MAX_BODY_BYTES),
  PARLEY_FIRST_TOKEN_TIMEOUT_MS: positiveInt(Defaults.FIRST_TOKEN_TIMEOUT_MS),
  PARLEY_INTER_TOKEN_TIMEOUT_MS: positiveInt(Defaults.INTER_TOKEN_TIMEOUT_MS),
  PARLEY_TURN_TIMEOUT_MS: positiveInt(Defaults.TURN_TIMEOUT_MS),
  /** How long the gateway waits for a service to accept a request (NATS request/reply). */
  PARLEY_REQUEST_TIMEOUT_MS: positiveInt(Defaults.REQUEST_TIMEOUT_MS),
  /** Trust `X-Forwarded-*` from a proxy in front. */
  PARLEY_TRUST_PROXY: flag(false),
});
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

export const responderEnvSchema = z
  .object({
    ...commonEnv,
    /** Most recent history messages sent to the model with each turn. */
    PARLEY_HISTORY_MAX_MESSAGES: positiveInt(Defaults.HISTORY_MAX_MESSAGES),
    /** Operations port: /healthz, /readyz, /metrics. */
    PARLEY_OPS_PORT: port(Defaults.RESPONDER_OPS_PORT),
    PARLEY_REQUEST_TIMEOUT_MS: positiveInt(Defaults.REQUEST_TIMEOUT_MS),
    /** The deployment's system prompt, first in every conversation turn. */
    PARLEY_SYSTEM_PROMPT: z.string().max(32_000).optional(),
    /** The model's context window, in tokens. */
    PARLEY_CONTEXT_WINDOW_TOKENS: positiveInt(Defaults.CONTEXT_WINDOW_TOKENS),
    /** Tokens of the window kept free for the reply. */
    PARLEY_RESERVED_OUTPUT_TOKENS: positiveInt(Defaults.RESERVED_OUTPUT_TOKENS),
    /** Conversations older than this many days are erased automatically; unset keeps them. */
    PARLEY_RETENTION_DAYS: z.coerce.number().positive().optional(),
    /** How often the retention sweep runs. */
    PARLEY_RETENTION_SWEEP_MS: positiveInt(Defaults.RETENTION_SWEEP_MS),
  })
  .refine((c) => c.PARLEY_RESERVED_OUTPUT_TOKENS < c.PARLEY_CONTEXT_WINDOW_TOKENS, {
    path: ['PARLEY_RESERVED_OUTPUT_TOKENS'],
    message: 'must be less than PARLEY_CONTEXT_WINDOW_TOKENS',
  });
export type ResponderConfig = z.infer<typeof responderEnvSchema>;

export const inferenceEnvSchema = z.object({
  ...commonEnv,
  /** Operations port: /healthz, /readyz, /metrics. */
  PARLEY_OPS_PORT: port(Defaults.INFERENCE_OPS_PORT),
  PARLEY_UPSTREAM_BASE_URL: httpUrl().default(Defaults.UPSTREAM_BASE_URL),
  PARLEY_UPSTREAM_API_KEY: z.string().optional(),
  PARLEY_UPSTREAM_MODEL: z.string().min(1).default(Defaults.UPSTREAM_MODEL),
  /** The name clients ask for; defaults to the upstream model's name. */
  PARLEY_MODEL_ALIAS: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,128}$/, 'letters, digits and . _ : / - only')
    .optional(),
  /** A routing file (YAML: model aliases → targets, splits, fallbacks); without it, one target from the variables above. */
  PARLEY_MODELS_FILE: z.string().optional(),
  /** Time allowed to connect and receive response headers from the upstream. */
  PARLEY_UPSTREAM_TIMEOUT_MS: positiveInt(Defaults.FIRST_TOKEN_TIMEOUT_MS),
});
export type InferenceConfig = z.infer<typeof inferenceEnvSchema>;
