/**
 * Configuration is read once at start from the environment, validated with zod, and handed to the rest of the
 * service as a typed, frozen object. A bad or missing value stops the start with a message naming the variable.
 */
import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; lists every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates `env` against a schema of environment variables and returns the typed result.
 * Empty strings count as unset, so `FOO=` falls back to the default like a missing variable.
 * @example const config = loadConfig(z.object({ PORT: port(3000) }));
 */
export function loadConfig<S extends z.ZodType<object>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const value = present[name];
        // Never echo values of variables that may hold secrets.
        const shown = value === undefined || /KEY|SECRET|TOKEN|PASSWORD/i.test(name) ? '' : ` (got "${value}")`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  return Object.freeze(result.data);
}

/**
 * {@link loadConfig} for a service's entry point: on a bad value, writes one JSON line naming every problem
 * to stderr and exits with status 1 before anything starts.
 */
export function loadConfigOrExit<S extends z.ZodType<object>>(service: string, schema: S): Readonly<z.infer<S>> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', service, msg: 'invalid configuration', problems: error.problems })}\n`,
    );
    process.exit(1);
  }
}

/** A TCP port; 0 lets the OS choose. */
export function port(defaultPort: number) {
  return z.coerce.number().int().min(0).max(65_535).default(defaultPort);
}

/** A positive whole number of milliseconds, bytes or items. */
export function positiveInt(defaultValue: number) {
  return z.coerce.number().int().positive().default(defaultValue);
}

/** `true|false|1|0|yes|no`. */
export function flag(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(defaultValue);
}

/** An absolute http(s) URL. */
export function httpUrl() {
  return z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });
}

/** A comma-separated list; blanks are dropped. */
export function list() {
  return z.string().transform((v) =>
    v
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables every service reads. */
export const commonEnv = {
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/, 'expected nats://host:port[,…]')
    .default('nats://127.0.0.1:4222'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** How long a service waits for its own streams to finish on SIGTERM. */
  PARLEY_SHUTDOWN_GRACE_MS: positiveInt(10_000),
  /** How long the frames of a turn are kept for resuming (the stream's max age; same on every service). */
  PARLEY_FRAMES_TTL_MS: positiveInt(15 * 60_000),
  /**
   * Copies JetStream keeps of every stream and bucket: 1 on a single server, 3 on a three-node cluster (a
   * node can then fail without losing history). Applied when a service creates or updates them at start.
   */
  PARLEY_JETSTREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** OTLP/HTTP collector base URL (traces go to `<url>/v1/traces`); unset: no export, no connection attempts. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  /** Full URL for traces, overriding the endpoint above. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
  /** `otlp` (default when an endpoint is set) or `none`. */
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  /** Share of new traces recorded (parent-based: a sampled caller is always followed). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
};

export interface CommonConfig {
  NATS_URL: string;
  LOG_LEVEL: (typeof LOG_LEVELS)[number];
  PARLEY_SHUTDOWN_GRACE_MS: number;
  PARLEY_FRAMES_TTL_MS: number;
  PARLEY_JETSTREAM_REPLICAS: number;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_TRACES_EXPORTER?: 'otlp' | 'none';
  OTEL_TRACES_SAMPLER_ARG: number;
}

/**
 * The value of one environment variable named by configuration (e.g. the key variable a routing file names),
 * read at start like everything else here. Undefined when unset or empty.
 */
export function envValue(name: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Node's own switch for its proxy support; the proxy variables below count only when it is `1`. */
export const PROXY_SWITCH = 'NODE_USE_ENV_PROXY';

/** The variables Node's proxy support reads (`http.Agent`'s `proxyEnv`), both spellings. */
export const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
] as const;

/**
 * The proxy settings for an HTTP agent, under Node's own switch for them (`NODE_USE_ENV_PROXY=1` or
 * `--use-env-proxy`, which `fetch` follows too); undefined when the switch is off.
 * @example new http.Agent({ keepAlive: true, proxyEnv: proxyEnvironment() })
 */
export function proxyEnvironment(
  env: Record<string, string | undefined> = process.env,
  execArgv: readonly string[] = process.execArgv,
): Record<string, string> | undefined {
  if (env[PROXY_SWITCH] !== '1' && !execArgv.includes('--use-env-proxy')) return undefined;
  return Object.fromEntries(PROXY_VARIABLES.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}
