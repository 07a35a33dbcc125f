/**
 * The backup command as an operator runs it (`npm run backup`/`npm run restore`, i.e. `node
 * scripts/jetstream-backup.ts`), which runs the responder build's dist/apps/responder/jetstream-backup.js: the
 * file the k8s CronJob runs. Against real nats-servers; the data is written and read with the product's own code.
 */
import { newId, type HistoryMessage } from '@parley/contracts';
import { HistoryStore, ensureJetStream, type JetStreamHandles } from '@parley/messaging';
import { NatsServerPool, freePort, type NatsServerHandle } from '@parley/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from './stack.js';

/** How long one run of the command may take before it is killed and the test fails. */
const RUN_TIMEOUT_MS = 20_000;
const CONVERSATIONS = 20;
const TURNS = 10;

const dir = mkdtempSync(join(tmpdir(), 'parley-backup-cli-'));
const pool = new NatsServerPool();

afterAll(async () => {
  await pool.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `node scripts/jetstream-backup.ts <args>` with only PATH, HOME and `env`; never rejects. */
const run = (args: string[], env: Record<string, string>) =>
  runScript('jetstream-backup.ts', args, env, RUN_TIMEOUT_MS);

async function server(): Promise<{ url: string; server: NatsServerHandle; jetstream: JetStreamHandles }> {
  const { server: started, nc } = await pool.start();
  return { url: started.url, server: started, jetstream: await ensureJetStream(nc) };
}

describe('backup command', () => {
  it('backup command - backs up, and restores every conversation into a new server; refuses a second restore', async () => {
    const source = await server();
    const history = new HistoryStore(source.jetstream.js, source.jetstream.jsm);
    const written = new Map<string, HistoryMessage[]>();
    for (let c = 0; c < CONVERSATIONS; c++) {
      const id = newId('conversation');
      const messages: HistoryMessage[] = [];
      for (let t = 0; t < TURNS; t++) {
        const turnId = newId('turn');
        const message: HistoryMessage = {
          id: newId('message'),
          turnId,
          role: t % 2 ? 'assistant' : 'user',
          content: `turn ${t} of conversation ${c}`,
          createdAt: new Date().toISOString(),
        };
        await history.append(id, message, `${turnId}.${message.role}`);
        messages.push(message);
      }
      await source.jetstream.conversations.put(id, JSON.stringify({ id }));
      written.set(id, messages);
    }
    const file = join(dir, 'parley.jsonl.gz');

    const backup = await run(['backup', '--out', file], { NATS_URL: source.url });
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    const messages = CONVERSATIONS * TURNS + CONVERSATIONS;
    expect(backup.stdout).toMatch(
      new RegExp(`^backup: 6 streams, ${messages} messages, \\d+ bytes, \\d+\\.\\d\\d s -> ${file}\\n$`),
    );

    await source.server.stop();
    const target = await server();
    const restore = await run(['restore', '--in', file], { NATS_URL: target.url });
    expect(restore).toMatchObject({ code: 0, stderr: '' });
    expect(restore.stdout).toMatch(
      new RegExp(`^restore: 6 streams, ${messages} messages, \\d+ bytes, .* <- ${file}\\n$`),
    );
    const restored = new HistoryStore(target.jetstream.js, target.jetstream.jsm);
    for (const [id, expected] of written) expect(await restored.list(id)).toEqual(expected);

    const again = await run(['restore', '--in', file], { NATS_URL: target.url });
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(
      /^restore failed: not restoring into streams with messages \(PARLEY_HISTORY holds 200, .*--force.*\n$/,
    );
  });

  it('backup command - fails with one line when NATS is not there, without a stack or the password', async () => {
    const url = `nats://parley:not-for-logs@127.0.0.1:${await freePort()}`;
    const failed = await run(['backup', '--out', join(dir, 'never.jsonl.gz')], { NATS_URL: url });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^backup failed: cannot connect to NATS at 127\.0\.0\.1:\d+: .*\n$/);
    expect(failed.stderr).not.toContain('not-for-logs');
  });
});
