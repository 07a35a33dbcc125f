/**
 * The keys command: projects and API keys for operators without an HTTP client, straight over NATS with the
 * gateway's own {@link AccountStore}, so a key it makes is the same record the admin API would make, and every
 * gateway replica applies it from its watch of the bucket (a revocation within a second). `npm run keys`
 * (scripts/keys.ts) runs the gateway build's dist/apps/gateway/keys-cli.js, the file its image carries.
 *
 *   projects list | projects show <id>
 *   projects create <id> [--name N] [--models a,b] [--limits JSON | limit flags]
 *   keys create --project P --name N --scopes chat,conversations [--models a,b] [--expires ISO] [limit flags]
 *   keys list [--project P] | keys show <id> | keys rotate <id> [--grace-seconds N] | keys revoke <id>
 *
 * Limit flags: --rpm, --tpm, --concurrency, --tokens-per-day, --tokens-per-month. `--json` prints the admin
 * API's JSON instead of text. It reads NATS_URL. Exit 0 on success; 1 with one line on stderr otherwise. A
 * key's secret is printed only by the create or rotate that made it, and never in an error.
 */
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  Buckets,
  CreateKeyBodySchema,
  CreateProjectBodySchema,
  KeyIdSchema,
  LimitsSchema,
  ProjectIdSchema,
  RotateKeyBodySchema,
  type KeyCreated,
  type KeyView,
  type Limits,
  type ProjectView,
} from '@parley/contracts';
import { envValue, keysCliEnvSchema, loadConfig } from '@parley/config';
import { bucketStream, connectForCommand, describeError, isBug, redact, urlSecrets } from '@parley/messaging';
import { createLogger } from '@parley/tracing';
import type { z } from 'zod';
import { AccountStore } from '../accounts/account-store.js';

export const USAGE = `usage: keys <command> [--json]
  projects list
  projects show <id>
  projects create <id> [--name N] [--models a,b] [--limits JSON | --rpm N --tpm N --concurrency N --tokens-per-day N --tokens-per-month N]
  keys create --project P --name N --scopes chat,conversations,erase,admin [--models a,b] [--expires ISO-8601] [limit flags]
  keys list [--project P]
  keys show <key id>
  keys rotate <key id> [--grace-seconds N]   (default 3600: the old secret works that long beside the new one)
  keys revoke <key id>
Environment: NATS_URL (default nats://127.0.0.1:4222).`;

/** Something anywhere in a line printed on failure that looks like a Parley secret. */
const SECRET_LIKE = /psk_[A-Za-z0-9_-]+/g;

export interface KeysCliIo {
  /** The environment; `process.env` when not given. */
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Wrong arguments: said as one line, before anything connects. */
class UsageError extends Error {}

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  models: { type: 'string' },
  limits: { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  concurrency: { type: 'string' },
  'tokens-per-day': { type: 'string' },
  'tokens-per-month': { type: 'string' },
  project: { type: 'string' },
  scopes: { type: 'string' },
  expires: { type: 'string' },
  'grace-seconds': { type: 'string' },
} as const;
type Option = keyof typeof OPTIONS;
type Values = Partial<Record<Option, string | boolean>>;

/** Each limit flag and the field of {@link Limits} it sets. */
const LIMIT_FLAGS = {
  rpm: 'requestsPerMinute',
  tpm: 'tokensPerMinute',
  concurrency: 'concurrentStreams',
  'tokens-per-day': 'tokensPerDay',
  'tokens-per-month': 'tokensPerMonth',
} as const satisfies Partial<Record<Option, keyof Limits>>;
const LIMIT_OPTIONS = [...Object.keys(LIMIT_FLAGS), 'limits'] as Option[];

/** What a body field is called on the command line, for error messages. */
const FLAG_OF: Record<string, string> = {
  id: '<id>',
  name: '--name',
  models: '--models',
  limits: '--limits',
  project: '--project',
  scopes: '--scopes',
  expiresAt: '--expires',
  gracePeriodSeconds: '--grace-seconds',
  ...Object.fromEntries(Object.entries(LIMIT_FLAGS).map(([flag, field]) => [field, `--${flag}`])),
};

/** A command, parsed: what it prints, given the store. */
type Run = (store: AccountStore, print: Printer) => Promise<void> | void;

interface Printer {
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs the command `argv` (without node and the script); resolves with the exit code. */
export async function runKeysCli(argv: string[], io: KeysCliIo = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(`${text}\n`));
  const err = io.stderr ?? ((text: string) => process.stderr.write(`${text}\n`));
  const secrets = urlSecrets(envValue('NATS_URL', io.env) ?? '');
  // One line, no secret: neither the NATS_URL's password nor anything shaped like a key.
  const fail = (line: string) => err(redact(line, secrets).replace(SECRET_LIKE, 'psk_***').split('\n')[0]!);
  let parsed: { name: string; json: boolean; run: Run } | 'help';
  try {
    parsed = parse(argv);
  } catch (error) {
    fail(`${(error as Error).message} (npm run keys -- --help)`);
    return 1;
  }
  if (parsed === 'help') {
    out(USAGE);
    return 0;
  }
  const { name, json, run } = parsed;
  let nc: NatsConnection | undefined;
  let store: AccountStore | undefined;
  try {
    const config = loadConfig(keysCliEnvSchema, io.env);
    nc = await connectForCommand(config.NATS_URL, 'parley-keys');
    store = await openStore(nc);
    await run(store, { json, out, err });
    return 0;
  } catch (error) {
    fail(`${name} failed: ${describeError(error)}`);
    // A bug in this code, not in the input: its stack helps, and it holds no secret (never printed whole).
    if (isBug(error)) err(redact((error as Error).stack ?? '', secrets).replace(SECRET_LIKE, 'psk_***'));
    return 1;
  } finally {
    store?.close();
    await nc?.close();
  }
}

/**
 * The gateway's account store over the existing bucket. The command neither creates the bucket nor changes
 * any stream: a run with another PARLEY_JETSTREAM_REPLICAS or frames TTL than the deployment's must not
 * reconfigure it, so a gateway must have started once. It knows none of the configured keys (those of
 * PARLEY_API_KEYS live in the gateways' environment), so it passes none; `open` makes the `default` project
 * only where a gateway did not (one that died before it could), exactly as the gateway would have.
 */
async function openStore(nc: NatsConnection): Promise<AccountStore> {
  const jsm = await jetstreamManager(nc);
  const stream = bucketStream(Buckets.accounts);
  const info = await jsm.streams.info(stream).catch((error: unknown) => {
    if (error instanceof Error && /stream not found/i.test(error.message)) {
      throw new Error(`NATS has no ${Buckets.accounts} bucket: start a gateway on it once first`, { cause: error });
    }
    throw error;
  });
  const kv = await new Kvm(jetstream(nc)).open(Buckets.accounts, { allow_direct: info.config.allow_direct });
  return AccountStore.open(kv, { apiKeys: [], adminKeys: [] }, createLogger({ service: 'keys', level: 'silent' }));
}

function parse(argv: string[]): { name: string; json: boolean; run: Run } | 'help' {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    const { code } = error as { code?: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${/'(-[^']*)'/.exec((error as Error).message)?.[1] ?? ''}`.trim());
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`${/'(--?[a-z-]+)/.exec((error as Error).message)?.[1] ?? 'an option'} needs a value`);
    }
    throw new UsageError((error as Error).message);
  }
  if (values.help || positionals[0] === 'help') return 'help';
  const [group, verb, ...args] = positionals;
  if (group === undefined) throw new UsageError('no command');
  const name = `${group} ${verb ?? ''}`.trim();
  const json = values.json === true;
  const given = (Object.keys(values) as Option[]).filter((option) => option !== 'json');
  const only = (...allowed: Option[]) => {
    const other = given.find((option) => !allowed.includes(option));
    if (other) throw new UsageError(`${name} takes no --${other}`);
  };
  const positional = (what: string, count: number) => {
    if (args.length < count) throw new UsageError(`${name} needs ${what}`);
    if (args.length > count)
      throw new UsageError(`${name} takes ${count === 0 ? 'no' : 'one'} argument, not ${args.length}`);
    return args[0]!;
  };
  const commands: Record<string, () => Run> = {
    'projects list': () => {
      only();
      positional('nothing', 0);
      return (store, print) => printList(print, store.listProjects(), projectRow, PROJECT_COLUMNS);
    },
    'projects show': () => {
      only();
      const id = projectId(positional('a project id', 1));
      return (store, print) => printOne(print, store.getProject(id), projectLines);
    },
    'projects create': () => {
      only('name', 'models', ...LIMIT_OPTIONS);
      const body = valid(CreateProjectBodySchema, {
        id: positional('a project id', 1),
        ...(values.name === undefined ? {} : { name: values.name }),
        ...models(values),
        ...limits(values),
      });
      return async (store, print) => printOne(print, await store.createProject(body), projectLines);
    },
    'keys create': () => {
      only('project', 'name', 'scopes', 'models', 'expires', ...LIMIT_OPTIONS);
      positional('nothing', 0);
      if (values.project === undefined) throw new UsageError('keys create needs --project');
      if (values.name === undefined) throw new UsageError('keys create needs --name');
      if (values.scopes === undefined)
        throw new UsageError('keys create needs --scopes (chat, conversations, erase, admin)');
      const body = valid(CreateKeyBodySchema, {
        project: values.project,
        name: values.name,
        scopes: commaList(values.scopes),
        ...models(values),
        ...limits(values),
        ...(values.expires === undefined ? {} : { expiresAt: values.expires }),
      });
      return async (store, print) => printSecret(print, await store.createKey(body), 'created');
    },
    'keys list': () => {
      only('project');
      positional('nothing', 0);
      const project = values.project === undefined ? undefined : projectId(values.project as string);
      return (store, print) => printList(print, store.listKeys(project), keyRow, KEY_COLUMNS);
    },
    'keys show': () => {
      only();
      const id = keyId(positional('a key id', 1));
      return (store, print) => printOne(print, store.getKey(id), keyLines);
    },
    'keys rotate': () => {
      only('grace-seconds');
      const id = keyId(positional('a key id', 1));
      const grace = values['grace-seconds'];
      const { gracePeriodSeconds } = valid(
        RotateKeyBodySchema,
        grace === undefined ? {} : { gracePeriodSeconds: wholeNumber('--grace-seconds', grace as string) },
      );
      return async (store, print) => printSecret(print, await store.rotateKey(id, gracePeriodSeconds), 'rotated');
    },
    'keys revoke': () => {
      only();
      const id = keyId(positional('a key id', 1));
      return async (store, print) => {
        const key = await store.revokeKey(id);
        if (print.json) print.out(JSON.stringify(key, null, 2));
        else print.out(`revoked ${key.id} (${key.name}, project ${key.project}) at ${key.revokedAt ?? '?'}`);
      };
    },
  };
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  return { name, json, run: command() };
}

function commaList(value: string | boolean | undefined): string[] {
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function models(values: Values): { models?: string[] } {
  return values.models === undefined ? {} : { models: commaList(values.models) };
}

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number`);
  return Number(value);
}

/** `--limits '{"requestsPerMinute":60}'`, or the limit flags; not both. */
function limits(values: Values): { limits?: Limits } {
  const flags = Object.entries(LIMIT_FLAGS).filter(([flag]) => values[flag as Option] !== undefined);
  if (values.limits !== undefined) {
    if (flags.length > 0) throw new UsageError('give --limits or the limit flags, not both');
    let parsed: unknown;
    try {
      parsed = JSON.parse(values.limits as string);
    } catch {
      throw new UsageError(
        '--limits must be JSON, e.g. {"requestsPerMinute":60,"tokensPerDay":100000}; fields: ' +
          Object.keys(LimitsSchema.shape).join(', '),
      );
    }
    return { limits: parsed as Limits };
  }
  if (flags.length === 0) return {};
  return {
    limits: Object.fromEntries(
      flags.map(([flag, field]) => [field, wholeNumber(`--${flag}`, values[flag as Option] as string)]),
    ),
  };
}

/** The body as the admin API would accept it, or the first problem as one line naming its flag. */
function valid<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = [...issue.path].reverse().find((part) => typeof part === 'string' && FLAG_OF[part]);
  const where = field === undefined ? '' : `${FLAG_OF[field as string]}: `;
  const unknown = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  throw new UsageError(`${where}${issue.message}${unknown}`);
}

/** A key id, checked before it is used; a wrong one is not echoed (it might be a secret pasted by mistake). */
function keyId(value: string): string {
  if (!KeyIdSchema.safeParse(value).success) throw new UsageError('not a key id: key_ and 16 hex digits');
  return value;
}

function projectId(value: string): string {
  if (!ProjectIdSchema.safeParse(value).success) {
    throw new UsageError('not a project id: lower-case letters, digits, _ and -');
  }
  return value;
}

// Text output.

type Columns<T> = [header: string, cell: (row: T) => string][];

const describeLimits = (limits: Limits | undefined) =>
  limits && Object.keys(limits).length > 0
    ? Object.entries(limits)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(' ')
    : '-';

const PROJECT_COLUMNS: Columns<ProjectView> = [
  ['ID', (p) => p.id],
  ['NAME', (p) => p.name],
  ['MODELS', (p) => p.models?.join(',') ?? 'any'],
  ['LIMITS', (p) => describeLimits(p.limits)],
];
const projectRow = (p: ProjectView) => PROJECT_COLUMNS.map(([, cell]) => cell(p));

function keyStatus(key: KeyView): string {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return key.previousSecretValidUntil ? 'rotating' : 'active';
}

const KEY_COLUMNS: Columns<KeyView> = [
  ['ID', (k) => k.id],
  ['PROJECT', (k) => k.project],
  ['NAME', (k) => k.name],
  ['SCOPES', (k) => k.scopes.join(',')],
  ['STATUS', keyStatus],
  ['ENDS WITH', (k) => k.hint],
  ['CREATED', (k) => k.createdAt],
];
const keyRow = (k: KeyView) => KEY_COLUMNS.map(([, cell]) => cell(k));

function printList<T>(print: Printer, rows: T[], row: (item: T) => string[], columns: Columns<T>): void {
  if (print.json) {
    print.out(JSON.stringify({ object: 'list', data: rows }, null, 2));
    return;
  }
  if (rows.length === 0) {
    print.out('none');
    return;
  }
  const table = [columns.map(([header]) => header), ...rows.map(row)];
  const widths = columns.map((_, i) => Math.max(...table.map((cells) => cells[i]!.length)));
  for (const cells of table)
    print.out(
      cells
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

function printOne<T>(print: Printer, item: T, lines: (item: T) => [string, string | undefined][]): void {
  if (print.json) {
    print.out(JSON.stringify(item, null, 2));
    return;
  }
  const shown = lines(item).filter((line): line is [string, string] => line[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  for (const [label, value] of shown) print.out(`${`${label}:`.padEnd(width + 2)}${value}`);
}

const projectLines = (p: ProjectView): [string, string | undefined][] => [
  ['project', p.id],
  ['name', p.name],
  ['models', p.models?.join(',') ?? 'any'],
  ['limits', describeLimits(p.limits)],
  ['allow logprobs', p.allowLogprobs === undefined ? undefined : String(p.allowLogprobs)],
  ['system prompt', p.systemPrompt === undefined ? undefined : `${p.systemPrompt.length} characters`],
  ['created', p.createdAt],
  ['updated', p.updatedAt],
];

const keyLines = (k: KeyView): [string, string | undefined][] => [
  ['key', k.id],
  ['project', k.project],
  ['name', k.name],
  ['scopes', k.scopes.join(',')],
  ['status', keyStatus(k)],
  ['models', k.models?.join(',') ?? "the project's"],
  ['limits', describeLimits(k.limits)],
  ['ends with', k.hint],
  ['expires', k.expiresAt],
  ['revoked', k.revokedAt],
  ['previous secret valid until', k.previousSecretValidUntil],
  ['created', k.createdAt],
  ['updated', k.updatedAt],
];

/** The one output that holds a secret: the key's new secret, and that it is not shown again. */
function printSecret(print: Printer, created: KeyCreated, what: 'created' | 'rotated'): void {
  const notice = 'The secret is shown only once: store it now. Parley keeps only its SHA-256 digest.';
  if (print.json) {
    print.out(JSON.stringify(created, null, 2));
    print.err(notice);
    return;
  }
  const { key: secret, ...view } = created;
  printOne(print, view, keyLines);
  print.out(`secret: ${secret}`);
  if (view.revokedAt) print.out('This key is revoked: none of its secrets works.');
  else if (what === 'rotated') {
    print.out(
      view.previousSecretValidUntil
        ? `The previous secret keeps working until ${view.previousSecretValidUntil}.`
        : 'The previous secret no longer works.',
    );
  }
  print.out(notice);
}
