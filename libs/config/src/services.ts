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
  /** Longer than the idle timeout of the usual proxies in front (AWS ALB 60 s), so they close first. */
  KEEP_ALIVE_TIMEOUT_MS: 65_000,
  HEADERS_TIMEOUT_MS: 10_000,
  BODY_TIMEOUT_MS: 30_000,
  FIRST_TOKEN_TIMEOUT_MS: 30_000,
  INTER_TOKEN_TIMEOUT_MS: 10_000,
  TURN_TIMEOUT_MS: 120_000,
  REQUEST_TIMEOUT_MS: 5_000,
  HISTORY_MAX_MESSAGES: 50,
  CONTEXT_WINDOW_TOKENS: 8_192,
  RESERVED_OUTPUT_TOKENS: 1_024,
  RETENTION_SWEEP_MS: 60 * 60_000,
  /** The most a sentiment classification may take before its turn's usage record goes without it. */
  SENTIMENT_TIMEOUT_MS: 1_000,
  UPSTREAM_BASE_URL: 'http://127.0.0.1:8000/v1',
  UPSTREAM_MODEL: 'sim-model',
  VISITOR_TOKEN_TTL_S: 7 * 24 * 3600,
  WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: 30,
  VISITOR_MESSAGES_PER_MINUTE: 10,
  WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE: 60,
  REDIS_URL: 'redis://127.0.0.1:6379',
  VISITOR_CONCURRENT_STREAMS: 1,
  VISITOR_TOKENS_PER_DAY: 50_000,
  WIDGET_KEY_CONCURRENT_STREAMS: 64,
  CONVERSATIONS_PER_MINUTE: 60,
  RESUMES_PER_MINUTE: 120,
  LEASE_TTL_MS: 30_000,
  DEFAULT_MAX_TOKENS: 1_024,
  MAX_TOKENS_LIMIT: 4_096,
} as const;

/** A public widget key: `pk_` and 16 to 128 letters, digits, `_` or `-`. */
export const WIDGET_KEY = /^pk_[A-Za-z0-9_-]{16,128}$/;

/**
 * `PARLEY_WIDGET_KEYS`: comma-separated entries `pk_<key>=<origin>|<origin>…`, e.g.
 * `pk_live_4f9c…=https://shop.example|https://www.shop.example`. Each key works only from its origins.
 */
export function widgetKeys() {
  return z.string().transform((raw, ctx) => {
    const keys: { key: string; origins: string[] }[] = [];
    for (const entry of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [key = '', origins = ''] = entry.split('=', 2);
      if (!WIDGET_KEY.test(key)) {
        ctx.addIssue({ code: 'custom', message: 'each key must be pk_ followed by 16 to 128 of [A-Za-z0-9_-]' });
        return z.NEVER;
      }
      const list = origins.split('|').filter(Boolean);
      const bad = list.find((origin) => !isOrigin(origin));
      if (list.length === 0 || bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${key.slice(0, 6)}…: origins must be scheme://host[:port] separated by |${bad ? ` (got ${bad})` : ''}`,
        });
        return z.NEVER;
      }
      keys.push({ key, origins: list });
    }
    return keys;
  });
}

/**
 * `PARLEY_TRUST_PROXY`: which proxies in front may say who the client is in `X-Forwarded-For`. `false` (none),
 * a number of hops (`true` is 1: the one proxy in front), or a comma-separated list of addresses, CIDR ranges
 * and `loopback` / `linklocal` / `uniquelocal`. The client is the address just before the trusted ones,
 * never simply the leftmost, which anyone can write.
 */
export function trustProxy() {
  return z
    .string()
    .transform((raw, ctx): false | number | string[] => {
      const value = raw.trim();
      if (value === 'false' || value === 'no' || value === '0' || value === '') return false;
      if (value === 'true' || value === 'yes') return 1;
      if (/^\d+$/.test(value)) return Number(value);
      const entries = value
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const bad = entries.find((e) => !/^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(e));
      if (bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected false, a number of hops, or addresses and CIDRs (got ${bad})`,
        });
        return z.NEVER;
      }
      return entries;
    })
    .default(false);
}

/** What the gateway does for a kind of caller while Redis, where limits are counted, cannot be reached. */
const redisDownPolicy = () => z.enum(['refuse', 'local']).default('local');

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

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
  /** An idle keep-alive connection is closed after this. */
  PARLEY_KEEP_ALIVE_TIMEOUT_MS: positiveInt(Defaults.KEEP_ALIVE_TIMEOUT_MS),
  /** Time to receive a request's headers (Node's `server.headersTimeout`). */
  PARLEY_HEADERS_TIMEOUT_MS: positiveInt(Defaults.HEADERS_TIMEOUT_MS),
  /** Time to receive a whole request, body included (Node's `server.requestTimeout`); a slow body gets 408. */
  PARLEY_BODY_TIMEOUT_MS: positiveInt(Defaults.BODY_TIMEOUT_MS),
  PARLEY_FIRST_TOKEN_TIMEOUT_MS: positiveInt(Defaults.FIRST_TOKEN_TIMEOUT_MS),
  PARLEY_INTER_TOKEN_TIMEOUT_MS: positiveInt(Defaults.INTER_TOKEN_TIMEOUT_MS),
  PARLEY_TURN_TIMEOUT_MS: positiveInt(Defaults.TURN_TIMEOUT_MS),
  /** How long the gateway waits for a service to accept a request (NATS request/reply). */
  PARLEY_REQUEST_TIMEOUT_MS: positiveInt(Defaults.REQUEST_TIMEOUT_MS),
  /** Which proxies in front to believe about the client's address (see {@link trustProxy}). */
  PARLEY_TRUST_PROXY: trustProxy(),
  /** Redis, where every replica's limits, budgets and stream slots are counted (`rediss://` for TLS). */
  PARLEY_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .default(Defaults.REDIS_URL),
  /** While Redis is unreachable, API keys are refused (503) or limited by each replica alone (`local`). */
  PARLEY_REDIS_DOWN_API_KEYS: redisDownPolicy(),
  /** The same for widget visitors. */
  PARLEY_REDIS_DOWN_WIDGET: redisDownPolicy(),
  /** Streams one widget visitor may have open at once. */
  PARLEY_VISITOR_CONCURRENT_STREAMS: positiveInt(Defaults.VISITOR_CONCURRENT_STREAMS),
  /** Tokens (prompt and completion) one widget visitor may use per day. */
  PARLEY_VISITOR_TOKENS_PER_DAY: positiveInt(Defaults.VISITOR_TOKENS_PER_DAY),
  /** Streams all visitors of one widget key may have open at once. */
  PARLEY_WIDGET_KEY_CONCURRENT_STREAMS: positiveInt(Defaults.WIDGET_KEY_CONCURRENT_STREAMS),
  /** Tokens all visitors of one widget key may use per minute; unlimited when unset. */
  PARLEY_WIDGET_KEY_TOKENS_PER_MINUTE: z.coerce.number().int().positive().optional(),
  /** Conversations one key or visitor may create per minute. */
  PARLEY_CONVERSATIONS_PER_MINUTE: positiveInt(Defaults.CONVERSATIONS_PER_MINUTE),
  /** Resumed streams (`/events`) one key or visitor may open per minute. */
  PARLEY_RESUMES_PER_MINUTE: positiveInt(Defaults.RESUMES_PER_MINUTE),
  /** A stream slot of a gateway that stopped renewing it (it died) is free again after this long. */
  PARLEY_LEASE_TTL_MS: positiveInt(Defaults.LEASE_TTL_MS),
  /** Public keys for the chat widget and the origins each may be used from (see {@link widgetKeys}). */
  PARLEY_WIDGET_KEYS: widgetKeys().optional(),
  /**
   * Signs visitor tokens (HS256); at least 32 characters, the same on every gateway replica. Unset: a random
   * secret per process, so visitors lose their session when the gateway restarts.
   */
  PARLEY_VISITOR_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a visitor token is valid; the widget renews it when half has passed. */
  PARLEY_VISITOR_TOKEN_TTL_S: positiveInt(Defaults.VISITOR_TOKEN_TTL_S),
  /** New visitor sessions one client address (an IPv6 /64) may start per hour. */
  PARLEY_WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR: positiveInt(Defaults.WIDGET_SESSIONS_PER_ADDRESS_PER_HOUR),
  /** Messages and new conversations one visitor may send per minute. */
  PARLEY_VISITOR_MESSAGES_PER_MINUTE: positiveInt(Defaults.VISITOR_MESSAGES_PER_MINUTE),
  /** Visitors' messages and new conversations from one client address (an IPv6 /64) per minute. */
  PARLEY_WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE: positiveInt(Defaults.WIDGET_MESSAGES_PER_ADDRESS_PER_MINUTE),
  /** Serve the demo page at `/` (it embeds the widget with the first widget key). */
  PARLEY_DEMO_PAGE: flag(true),
  /**
   * Lets every API key use `logprobs`, `top_logprobs` and `logit_bias` on `/v1/chat/completions` (refused with
   * a 400 otherwise), until keys and projects say so each.
   */
  PARLEY_ALLOW_LOGPROBS: flag(false),
  /** The built widget script; by default the one `npm run build` writes to dist/apps/widget. */
  PARLEY_WIDGET_FILE: z.string().optional(),
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
    /** The guardrails file (YAML, docs/guardrails.md); without it, the built-in default policy. */
    PARLEY_GUARDRAILS_FILE: z.string().optional(),
    /** A text-classification endpoint (Hugging Face) rating each user message's sentiment; unset: none. */
    PARLEY_SENTIMENT_URL: httpUrl().optional(),
    /** Its token, if it needs one. */
    PARLEY_SENTIMENT_API_KEY: z.string().optional(),
    PARLEY_SENTIMENT_TIMEOUT_MS: positiveInt(Defaults.SENTIMENT_TIMEOUT_MS),
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
  /** Completion tokens of a request that names none, for a model alias whose routing sets no `maxTokens.default`. */
  PARLEY_DEFAULT_MAX_TOKENS: positiveInt(Defaults.DEFAULT_MAX_TOKENS),
  /** The most completion tokens a request may ask for, unless the alias's routing sets `maxTokens.max`. */
  PARLEY_MAX_TOKENS_LIMIT: positiveInt(Defaults.MAX_TOKENS_LIMIT),
});
export type InferenceConfig = z.infer<typeof inferenceEnvSchema>;

/**
 * The backup and restore command (`npm run backup`, the k8s CronJob): the environment every service shares,
 * so a restore creates the streams as the services would (NATS_URL, PARLEY_JETSTREAM_REPLICAS,
 * PARLEY_FRAMES_TTL_MS).
 */
export const backupEnvSchema = z.object(commonEnv);
export type BackupConfig = z.infer<typeof backupEnvSchema>;

/** The keys command (`npm run keys`): it needs only NATS, where the gateway keeps projects and keys. */
export const keysCliEnvSchema = z.object({ NATS_URL: commonEnv.NATS_URL });
export type KeysCliConfig = z.infer<typeof keysCliEnvSchema>;
