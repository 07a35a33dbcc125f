/**
 * The backup and restore command: `npm run backup`/`npm run restore` (scripts/jetstream-backup.ts) and the
 * k8s CronJob run it from the responder's build (dist/apps/responder/jetstream-backup.js).
 *
 *   backup --out <file>                 one backup file (never overwritten)
 *   backup --dir <dir> [--keep <n>]     <dir>/parley-<UTC time>.jsonl.gz, then all but the newest n removed
 *   restore --in <file> [--force]       into empty streams; --force replaces what they hold
 *
 * It reads the environment every service reads (NATS_URL, PARLEY_JETSTREAM_REPLICAS, PARLEY_FRAMES_TTL_MS).
 * Exit 0 with one summary line on stdout, 1 with one error line on stderr, 2 for a usage error.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { backupEnvSchema, envValue, loadConfig, type BackupConfig } from '@parley/config';
import { backupJetStream, restoreJetStream, type TransferSummary } from './backup.js';
import { connectForCommand, describeError as describe, isBug, redact, urlSecrets } from './command-line.js';

const USAGE =
  'usage: jetstream-backup backup --out <file> | backup --dir <dir> [--keep <n>] | restore --in <file> [--force]';
/** Files `--dir` writes: `parley-20250102T030405.678Z.jsonl.gz`, newest last in name order. */
const DIR_FILE = /^parley-\d{8}T\d{6}\.\d{3}Z\.jsonl\.gz$/;
/** What a backup killed half-way (SIGKILL, a lost node) leaves behind; removed by the next `--dir` run. */
const DIR_PARTIAL = /^parley-\d{8}T\d{6}\.\d{3}Z\.jsonl\.gz\.partial$/;

export interface BackupCliIo {
  /** The environment; `process.env` when not given. */
  env?: Record<string, string | undefined>;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

class UsageError extends Error {}

interface Command {
  name: 'backup' | 'restore';
  run: (nc: NatsConnection, config: BackupConfig) => Promise<string>;
}

/** Runs the command `argv` (without node and the script); resolves with the exit code. */
export async function runBackupCli(argv: string[], io: BackupCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stderr = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  let command: Command;
  try {
    command = parse(argv);
  } catch (error) {
    stderr(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  // From the raw value: a NATS_URL the configuration refuses is quoted in its message.
  const secrets = urlSecrets(envValue('NATS_URL', io.env) ?? '');
  try {
    const config = loadConfig(backupEnvSchema, io.env);
    const nc = await connectForCommand(config.NATS_URL, 'parley-backup');
    try {
      stdout(redact(await command.run(nc, config), secrets));
    } finally {
      await nc.close();
    }
    return 0;
  } catch (error) {
    stderr(redact(`${command.name} failed: ${describe(error)}`, secrets));
    if (isBug(error)) stderr(redact((error as Error).stack ?? '', secrets));
    return 1;
  }
}

function parse(argv: string[]): Command {
  const [name, ...rest] = argv;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        out: { type: 'string' },
        dir: { type: 'string' },
        keep: { type: 'string' },
        in: { type: 'string' },
        force: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const given = Object.keys(values);
  const only = (...allowed: string[]) => {
    const other = given.find((option) => !allowed.includes(option));
    if (other) throw new UsageError(`${name} takes no --${other}`);
  };
  if (name === 'backup') {
    only('out', 'dir', 'keep');
    const { out, dir, keep } = values as { out?: string; dir?: string; keep?: string };
    if ((out === undefined) === (dir === undefined)) throw new UsageError('backup needs one of --out and --dir');
    if (keep !== undefined && (dir === undefined || !/^[1-9]\d*$/.test(keep))) {
      throw new UsageError('--keep goes with --dir and is a whole number of backups, at least 1');
    }
    return {
      name,
      run: async (nc) => {
        const file = out ?? join(dir!, `parley-${new Date().toISOString().replace(/[-:]/g, '')}.jsonl.gz`);
        const summary = await backupJetStream(nc, file);
        const pruned = dir !== undefined && keep !== undefined ? await prune(dir, Number(keep)) : 0;
        return `backup: ${describeSummary(summary)} -> ${file}${pruned > 0 ? `; removed ${pruned} older` : ''}`;
      },
    };
  }
  if (name === 'restore') {
    only('in', 'force');
    const { in: file, force = false } = values as { in?: string; force?: boolean };
    if (file === undefined) throw new UsageError('restore needs --in <file>');
    return {
      name,
      run: async (nc, config) => {
        const summary = await restoreJetStream(nc, file, {
          force,
          jetstream: { replicas: config.PARLEY_JETSTREAM_REPLICAS, framesMaxAgeMs: config.PARLEY_FRAMES_TTL_MS },
        });
        return `restore: ${describeSummary(summary)} <- ${file}`;
      },
    };
  }
  throw new UsageError(name === undefined ? 'no command' : `unknown command ${name}`);
}

function describeSummary({ streams, messages, bytes, durationMs }: TransferSummary): string {
  return `${streams} streams, ${messages} messages, ${bytes} bytes, ${(durationMs / 1000).toFixed(2)} s`;
}

/** Removes all but the newest `keep` backups of `dir`, and what killed runs left; returns how many backups. */
async function prune(dir: string, keep: number): Promise<number> {
  const names = await readdir(dir);
  const old = names
    .filter((name) => DIR_FILE.test(name))
    .sort()
    .slice(0, -keep);
  for (const name of [...old, ...names.filter((name) => DIR_PARTIAL.test(name))]) await rm(join(dir, name));
  return old.length;
}
