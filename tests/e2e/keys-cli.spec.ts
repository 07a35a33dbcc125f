/**
 * The keys command as an operator runs it (`npm run keys`, i.e. `node scripts/keys.ts`, which runs the gateway
 * build's dist/apps/gateway/keys-cli.js), against the NATS of a running stack: what it makes, the running
 * gateway accepts at once, and what it revokes, the gateway refuses within a second.
 */
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, Stack, eventually, runScript } from './stack.js';

/** How long one run of the command may take before it is killed and the test fails. */
const RUN_TIMEOUT_MS = 20_000;
/** How soon every gateway replica applies a change made in the bucket. */
const PROPAGATION_MS = 1_000;

let stack: Stack;
beforeAll(async () => {
  stack = await Stack.start();
});
afterAll(() => stack?.stop());

/** `node scripts/keys.ts <args>` with only PATH, HOME and `env` (NATS_URL: the stack's); never rejects. */
const keys = (args: string[], env: Record<string, string> = { NATS_URL: stack.nats.url }) =>
  runScript('keys.ts', args, env, RUN_TIMEOUT_MS);

/** A command that must succeed, its JSON output parsed. */
async function keysJson<T>(args: string[]): Promise<T> {
  const run = await keys([...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** The status `GET /v1/models` answers with `secret` (every key with the chat scope may list models). */
async function statusWith(secret: string): Promise<number> {
  const res = await stack.fetch('/v1/models', { key: secret });
  await res.body?.cancel();
  return res.status;
}

/** Waits (at most {@link PROPAGATION_MS}) until the gateway answers `status` to `secret`. */
function gatewayAnswers(secret: string, status: number): Promise<true> {
  return eventually(
    `the gateway to answer ${status} to the key`,
    async () => ((await statusWith(secret)) === status ? true : undefined),
    PROPAGATION_MS,
  );
}

async function chat(secret: string): Promise<string> {
  const client = new OpenAI({ apiKey: secret, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0, timeout: 20_000 });
  const completion = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Hi' }],
  });
  return completion.choices[0]?.message.content ?? '';
}

interface Created {
  id: string;
  key: string;
  project: string;
  scopes: string[];
  previousSecretValidUntil?: string;
}

describe('keys command', () => {
  it('keys command - a project and a key it creates work on the running gateway; the secret is printed only once', async () => {
    const project = await keys(['projects', 'create', 'acme', '--name', 'Acme Ltd', '--models', MODEL, '--rpm', '100']);
    expect(project).toMatchObject({ code: 0, stderr: '' });
    expect(project.stdout).toMatch(/^project: +acme$/m);
    expect(project.stdout).toMatch(/^limits: +requestsPerMinute=100$/m);
    const projects = await keysJson<{ data: { id: string }[] }>(['projects', 'list']);
    // The gateway's own `default` project is there, once, beside the new one.
    expect(projects.data.map((p) => p.id)).toEqual(['acme', 'default']);

    const created = await keys(['keys', 'create', '--project', 'acme', '--name', 'support bot', '--scopes', 'chat']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const secret = /^secret: (psk_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    expect(secret, created.stdout).toBeDefined();
    expect(created.stdout).toContain('shown only once');
    const id = /^key: +(key_[0-9a-f]{16})$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();

    await gatewayAnswers(secret!, 200);
    expect((await chat(secret!)).length).toBeGreaterThan(0);
    // The key has the chat scope only: the conversation routes refuse it.
    const conversation = await stack.fetch('/v1/conversations', { method: 'POST', key: secret!, json: {} });
    expect(conversation.status).toBe(403);
    expect(await conversation.json()).toMatchObject({ error: { code: 'forbidden' } });

    // Listing and showing never print the secret again; they print the same key.
    const list = await keys(['keys', 'list', '--project', 'acme']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id!} +acme +support bot +chat +active +${secret!.slice(-4)} `, 'm'));
    const shown = await keysJson<{ id: string; key?: string }>(['keys', 'show', id!]);
    expect(shown).toMatchObject({ id, project: 'acme', scopes: ['chat'] });
    expect(shown.key).toBeUndefined();
    for (const output of [list.stdout, JSON.stringify(shown)]) expect(output).not.toContain(secret!.slice(4));
  });

  it('keys command - a revoked key is refused with 401 within a second', async () => {
    const created = await keysJson<Created>([
      'keys',
      'create',
      '--project',
      'default',
      '--name',
      'temp',
      '--scopes',
      'chat',
    ]);
    expect(created.key).toMatch(/^psk_/);
    await gatewayAnswers(created.key, 200);

    const revoked = await keys(['keys', 'revoke', created.id]);
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    expect(revoked.stdout).toMatch(new RegExp(`^revoked ${created.id} \\(temp, project default\\) at \\S+\\n$`));
    await gatewayAnswers(created.key, 401);
    await expect(chat(created.key)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await keysJson<{ revokedAt?: string }>(['keys', 'show', created.id])).toHaveProperty('revokedAt');
  });

  it('keys command - rotate prints a new secret; the old one works during its grace period, and not at all without one', async () => {
    const created = await keysJson<Created>([
      'keys',
      'create',
      '--project',
      'acme',
      '--name',
      'rotated',
      '--scopes',
      'chat',
    ]);
    await gatewayAnswers(created.key, 200);

    const rotated = await keys(['keys', 'rotate', created.id, '--grace-seconds', '600']);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    const secret = /^secret: (psk_\S+)$/m.exec(rotated.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(created.key);
    // The same key, so its conversations, usage and limits stay its own.
    expect(/^key: +(key_[0-9a-f]{16})$/m.exec(rotated.stdout)?.[1]).toBe(created.id);
    expect(rotated.stdout).toMatch(/The previous secret keeps working until \d{4}-\d\d-\d\dT/);
    await gatewayAnswers(secret!, 200);
    expect((await chat(secret!)).length).toBeGreaterThan(0);
    expect((await chat(created.key)).length).toBeGreaterThan(0);

    // Without a grace period the secret it replaces stops at once, on the gateway within a second.
    const again = await keysJson<Created>(['keys', 'rotate', created.id, '--grace-seconds', '0']);
    expect(again.id).toBe(created.id);
    expect(again.previousSecretValidUntil).toBeUndefined();
    await gatewayAnswers(secret!, 401);
    await gatewayAnswers(again.key, 200);
  });

  describe('bad input', () => {
    let before: unknown[];
    beforeAll(async () => {
      before = (await keysJson<{ data: unknown[] }>(['keys', 'list'])).data;
    });

    it.each([
      [[], /^no command \(npm run keys -- --help\)$/],
      [['tokens', 'list'], /^unknown command "tokens list"/],
      [['keys', 'create', '--project', 'acme', '--name', 'x'], /^keys create needs --scopes/],
      [['keys', 'create', '--project', 'acme', '--name', 'x', '--scopes', 'chat,root'], /^--scopes: Invalid option/],
      [['keys', 'create', '--project', 'acme', '--name', 'x', '--scopes', 'chat', '--expires', 'soon'], /^--expires: /],
      [
        ['keys', 'create', '--project', 'nope', '--name', 'x', '--scopes', 'chat'],
        /^keys create failed: no project "nope"$/,
      ],
      [['projects', 'create', 'Not An Id'], /^<id>: /],
      [['projects', 'create', 'acme'], /^projects create failed: project "acme" exists$/],
      [['projects', 'create', 'other', '--rpm', 'ten'], /^--rpm must be a whole number/],
      [['projects', 'create', 'other', '--rpm', '0'], /^--rpm: Too small/],
      [['projects', 'create', 'other', '--limits', '{"requestsPerHour":1}'], /^--limits: .*requestsPerHour/],
      [['projects', 'create', 'other', '--limits', '{oops'], /^--limits must be JSON/],
      [['projects', 'create', 'other', '--limits', '{}', '--rpm', '1'], /^give --limits or the limit flags, not both/],
      [['projects', 'show', 'missing'], /^projects show failed: no project "missing"$/],
      [['keys', 'show', 'psk_secret-pasted-by-mistake-4f9c2a7e1b'], /^not a key id: key_ and 16 hex digits/],
      [['keys', 'revoke', 'key_0000000000000000'], /^keys revoke failed: no API key "key_0000000000000000"$/],
      [['keys', 'rotate', 'key_0000000000000000', '--grace-seconds=-5'], /^--grace-seconds must be a whole number/],
      [['keys', 'rotate', 'key_0000000000000000', '--grace-seconds', '99999999'], /^--grace-seconds: Too big/],
      [['keys', 'list', '--frobnicate'], /^unknown option --frobnicate/],
      [['keys', 'list', '--project'], /^--project needs a value/],
    ])('keys command - bad input %j: one line on stderr, no stack, exit 1', async (args, message) => {
      const run = await keys(args);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^[^\n]+\n$/);
      expect(run.stderr.trimEnd()).toMatch(message);
      expect(run.stderr).not.toMatch(/psk_[A-Za-z0-9]/);
    });

    it('keys command - bad input changed no key', async () => {
      expect((await keysJson<{ data: unknown[] }>(['keys', 'list'])).data).toEqual(before);
    });
  });

  it('keys command - one line without the password when NATS is not there, or holds no accounts bucket', async () => {
    const down = await keys(['keys', 'list'], { NATS_URL: 'nats://parley:not-for-logs@127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^keys list failed: cannot connect to NATS at 127\.0\.0\.1:1: [^\n]*\n$/);
    expect(down.stderr).not.toContain('not-for-logs');

    let bare: NatsServerHandle | undefined;
    try {
      bare = await startNatsServer();
      const empty = await keys(['projects', 'list'], { NATS_URL: bare.url });
      expect(empty.code).toBe(1);
      expect(empty.stderr).toMatch(
        /^projects list failed: NATS has no parley_accounts bucket: start a gateway [^\n]*\n$/,
      );
    } finally {
      await bare?.stop();
    }
  });
});
