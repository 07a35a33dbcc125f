import { parseArgs } from 'node:util';
import { z } from 'zod';

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_MODEL = 'sim-model';
/** Delay before the first token, in milliseconds. */
export const DEFAULT_TTFT_MS = 20;
/** Delay between two generated tokens, in milliseconds. */
export const DEFAULT_INTER_TOKEN_MS = 20;
/** Reply length in tokens when no `replyText` is configured. */
export const DEFAULT_TOKENS = 30;
/** Tokens per streamed chunk: 1 streams smoothly, larger values stream in bursts. */
export const DEFAULT_BURST = 1;
export const DEFAULT_SEED = 42;
/** Length of the simulated embedding vectors (a `dimensions` request shortens them). */
export const DEFAULT_EMBEDDING_DIMENSIONS = 384;
/** Recorded requests kept for `GET /sim/requests`; older ones are dropped so memory stays bounded. */
export const DEFAULT_MAX_RECORDS = 1000;

// An hour is far beyond any useful simulated delay; the cap catches unit mistakes (seconds vs. microseconds).
const MAX_DELAY_MS = 3_600_000;
const MAX_TOKENS = 1_000_000;
// The largest embedding models have a few thousand dimensions.
const MAX_EMBEDDING_DIMENSIONS = 16_384;

/** Kinds of injected faults. */
export const FaultKind = {
  status: 'status',
  cut: 'cut',
  stall: 'stall',
  hang: 'hang',
  error: 'error',
  drop: 'drop',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

const times = z.int().positive().optional();
const afterTokens = z.int().nonnegative().max(MAX_TOKENS);

const FaultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal(FaultKind.status),
    status: z.union([z.literal(429), z.literal(500), z.literal(503)]),
    retryAfterSeconds: z.int().nonnegative().optional(),
    times,
  }),
  z.strictObject({ kind: z.literal(FaultKind.cut), afterTokens, times }),
  z.strictObject({ kind: z.literal(FaultKind.stall), afterTokens, times }),
  // An error object in the event stream after some tokens, then [DONE]: what vLLM sends when generation fails.
  z.strictObject({ kind: z.literal(FaultKind.error), afterTokens, times }),
  // Accepts the request and answers nothing, not even the status line, until the client leaves.
  z.strictObject({ kind: z.literal(FaultKind.hang), times }),
  // Reads the request and closes the connection without a byte of answer: what a client sees when a server
  // closes a kept-alive connection just as the client reuses it.
  z.strictObject({ kind: z.literal(FaultKind.drop), times }),
]);

/**
 * A fault applied to chat completion and embedding requests. `times` limits it to the next n requests; without it the
 * fault stays until replaced or cleared.
 */
export type SimFault = z.infer<typeof FaultSchema>;

const knobShape = {
  model: z.string().min(1),
  ttftMs: z.int().nonnegative().max(MAX_DELAY_MS),
  interTokenMs: z.int().nonnegative().max(MAX_DELAY_MS),
  tokens: z.int().nonnegative().max(MAX_TOKENS),
  burst: z.int().positive().max(MAX_TOKENS),
  seed: z
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32 - 1),
  replyText: z.string().nullable(),
  embeddingDimensions: z.int().positive().max(MAX_EMBEDDING_DIMENSIONS),
  fault: FaultSchema.nullable(),
};

/** The knobs that can change at runtime through `PUT /sim/config`. */
export const SimKnobsSchema = z.strictObject(knobShape);
export type SimKnobs = z.infer<typeof SimKnobsSchema>;

/** A partial update of the knobs; `null` clears `fault` or `replyText`. */
export const SimKnobsPatchSchema = SimKnobsSchema.partial();
export type SimKnobsPatch = z.infer<typeof SimKnobsPatchSchema>;

const SimConfigSchema = z.strictObject({
  ...knobShape,
  host: z.string().min(1),
  port: z.int().min(0).max(65_535),
});

/** Everything the simulator needs to start: where to listen plus the initial knobs. */
export type SimConfig = z.infer<typeof SimConfigSchema>;

export const DEFAULT_SIM_CONFIG: Readonly<SimConfig> = Object.freeze({
  host: DEFAULT_HOST,
  port: DEFAULT_PORT,
  model: DEFAULT_MODEL,
  ttftMs: DEFAULT_TTFT_MS,
  interTokenMs: DEFAULT_INTER_TOKEN_MS,
  tokens: DEFAULT_TOKENS,
  burst: DEFAULT_BURST,
  seed: DEFAULT_SEED,
  replyText: null,
  embeddingDimensions: DEFAULT_EMBEDDING_DIMENSIONS,
  fault: null,
});

/** Invalid simulator configuration; `message` names the offending variable, flag or field. */
export class SimConfigError extends Error {
  override readonly name = 'SimConfigError';
  readonly code = 'LLM_SIM_CONFIG_INVALID';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

type SourceKey =
  'port' | 'host' | 'model' | 'ttftMs' | 'interTokenMs' | 'tokens' | 'burst' | 'seed' | 'embeddingDimensions';

/** One row per setting: the environment variable and the CLI flag that feed the same config field. */
export const SIM_CONFIG_SOURCES: readonly { key: SourceKey; env: string; flag: string }[] = [
  { key: 'port', env: 'LLM_SIM_PORT', flag: 'port' },
  { key: 'host', env: 'LLM_SIM_HOST', flag: 'host' },
  { key: 'model', env: 'LLM_SIM_MODEL', flag: 'model' },
  { key: 'ttftMs', env: 'LLM_SIM_TTFT_MS', flag: 'ttft-ms' },
  { key: 'interTokenMs', env: 'LLM_SIM_INTER_TOKEN_MS', flag: 'inter-token-ms' },
  { key: 'tokens', env: 'LLM_SIM_TOKENS', flag: 'tokens' },
  { key: 'burst', env: 'LLM_SIM_BURST', flag: 'burst' },
  { key: 'seed', env: 'LLM_SIM_SEED', flag: 'seed' },
  { key: 'embeddingDimensions', env: 'LLM_SIM_EMBEDDING_DIMENSIONS', flag: 'embedding-dimensions' },
];

const INTEGER_TEXT = /^-?\d+$/;

function parseFlags(argv: readonly string[]): Record<string, string | undefined> {
  const options = Object.fromEntries(SIM_CONFIG_SOURCES.map((s) => [s.flag, { type: 'string' as const }]));
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    throw new SimConfigError(`invalid command line: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads the simulator configuration from environment variables and CLI flags (flags win), validated.
 *
 * @param env - the environment, e.g. `process.env`; only `LLM_SIM_*` variables are read.
 * @param argv - CLI arguments without the node and script paths, e.g. `['--port', '0', '--burst=10']`.
 * @throws SimConfigError naming the variable or flag whose value is invalid.
 * @example const config = loadSimConfig(process.env, process.argv.slice(2));
 */
export function loadSimConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): SimConfig {
  const flags = parseFlags(argv);
  const config: SimConfig = { ...DEFAULT_SIM_CONFIG };
  for (const source of SIM_CONFIG_SOURCES) {
    const fromFlag = flags[source.flag];
    const raw = fromFlag ?? env[source.env];
    if (raw === undefined || (fromFlag === undefined && raw === '')) continue;
    const name = fromFlag === undefined ? source.env : `--${source.flag}`;
    const value = source.key === 'host' || source.key === 'model' ? raw : parseInteger(name, raw);
    const result = SimConfigSchema.shape[source.key].safeParse(value);
    if (!result.success) {
      throw new SimConfigError(`${name}: ${result.error.issues[0]?.message ?? 'invalid'} (got "${raw}")`);
    }
    Object.assign(config, { [source.key]: result.data });
  }
  return config;
}

function parseInteger(name: string, raw: string): number {
  if (!INTEGER_TEXT.test(raw.trim())) throw new SimConfigError(`${name}: expected an integer (got "${raw}")`);
  return Number(raw);
}

/**
 * Validates a full configuration, filling unset fields from the defaults.
 *
 * @throws SimConfigError naming the first invalid field.
 */
export function resolveSimConfig(options: Partial<SimConfig> = {}): SimConfig {
  const result = SimConfigSchema.safeParse({ ...DEFAULT_SIM_CONFIG, ...options });
  if (!result.success) throw new SimConfigError(describeIssue(result.error), { cause: result.error });
  return result.data;
}

/** One line for the first issue of a zod error, prefixed with its path: what an operator needs to fix it. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid value';
  const path = issuePath(issue.path);
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/** Renders a zod issue path the way OpenAI names parameters, e.g. `messages[0].role`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) =>
      typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? String(part) : `${acc}.${String(part)}`,
    '',
  );
}
