import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, collectSse, eventually } from './stack.js';

const RETENTION_MS = 2_500;
let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await Stack.start({
    env: {
      PARLEY_RETENTION_DAYS: String(RETENTION_MS / (24 * 60 * 60_000)),
      PARLEY_RETENTION_SWEEP_MS: '250',
    },
  });
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('retention', () => {
  it('retention - conversations older than PARLEY_RETENTION_DAYS are erased with their history', async () => {
    const created = await stack.fetch('/v1/conversations', { method: 'POST', json: {} });
    const { id } = (await created.json()) as { id: string };
    await collectSse(
      await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } }),
    );
    expect((await stack.fetch(`/v1/conversations/${id}`)).status).toBe(200);
    await eventually(
      'the conversation to be erased',
      async () => ((await stack.fetch(`/v1/conversations/${id}`)).status === 404 ? true : undefined),
      RETENTION_MS + 5_000,
    );
    const jsm = await jetstreamManager(nc);
    const subject = `parley.history.v1.${id}`;
    const info = await jsm.streams.info('PARLEY_HISTORY', { subjects_filter: subject });
    expect(info.state.subjects?.[subject] ?? 0).toBe(0);
    const log = await stack.services.get('responder')!.waitForLog((l) => l.reason === 'retention');
    expect(log).toMatchObject({ conversationId: id, messages: 2 });
    // The stream's own age limit is the backstop behind the sweep: retention plus a day.
    expect(info.config.max_age).toBe(nanos(RETENTION_MS + 24 * 60 * 60_000));
  });
});
