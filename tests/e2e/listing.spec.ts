import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_KEY, Stack, collectSse } from './stack.js';

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await Stack.start({ sim: { replyText: 'noted' } });
  nc = await connect({ servers: stack.nats.url });
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

interface Listed {
  id: string;
  title?: string;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  externalUserId?: string;
  metadata?: Record<string, string>;
}

async function create(body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: body, key });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function list(query: string, key?: string): Promise<{ data: Listed[]; nextCursor: string | null }> {
  const res = await stack.fetch(`/v1/conversations${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: Listed[]; nextCursor: string | null };
}

describe('listing', () => {
  it('listing - own conversations newest first, with title, counts and metadata, page by page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await create({ externalUserId: 'lister', metadata: { n: String(i) } }));
    const first = ids[0]!;
    await collectSse(
      await stack.fetch(`/v1/conversations/${first}/messages`, {
        method: 'POST',
        json: { content: '  My parcel   never arrived, order 1234 ' },
      }),
    );
    const seen: Listed[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?externalUserId=lister&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((c) => c.id).sort()).toEqual([...ids].sort());
    // Newest first (ties on the millisecond are broken by id, so compare timestamps only).
    for (let i = 1; i < seen.length; i++) expect(seen[i - 1]!.createdAt >= seen[i]!.createdAt).toBe(true);
    const summary = seen.find((c) => c.id === first)!;
    expect(summary).toMatchObject({
      title: 'My parcel never arrived, order 1234',
      messageCount: 2,
      externalUserId: 'lister',
      metadata: { n: '0' },
    });
    expect(summary.updatedAt >= summary.createdAt).toBe(true);
    expect(seen.find((c) => c.id === ids[1])).toMatchObject({ messageCount: 0 });
  });

  it('listing - another key sees none of them; bad query values are refused', async () => {
    const mine = await create({});
    const theirs = await list('?limit=100', OTHER_KEY);
    expect(theirs.data.map((c) => c.id)).not.toContain(mine);
    for (const query of ['?limit=0', '?limit=101', '?cursor=garbage', '?sort=asc']) {
      const res = await stack.fetch(`/v1/conversations${query}`);
      expect(res.status, query).toBe(400);
    }
    const metadata = await stack.fetch('/v1/conversations', {
      method: 'POST',
      json: { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
    });
    expect(metadata.status).toBe(400);
  });
});

describe('per-user erasure', () => {
  it("users - DELETE /v1/users/{id}/data erases only that end user's conversations and returns a receipt", async () => {
    const alice = [
      await create({ externalUserId: 'alice@example.com' }),
      await create({ externalUserId: 'alice@example.com' }),
    ];
    const bob = await create({ externalUserId: 'bob' });
    for (const id of [...alice, bob]) {
      await collectSse(
        await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'hi' } }),
      );
    }
    // Another key's user with the same external id is a different person.
    const otherAlice = await create({ externalUserId: 'alice@example.com' }, OTHER_KEY);
    const res = await stack.fetch(`/v1/users/${encodeURIComponent('alice@example.com')}/data`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const receipt = (await res.json()) as { conversations: number; messages: number; conversationIds: string[] };
    expect(receipt).toMatchObject({ externalUserId: 'alice@example.com', conversations: 2, messages: 4 });
    expect(receipt.conversationIds.sort()).toEqual([...alice].sort());
    for (const id of alice) expect((await stack.fetch(`/v1/conversations/${id}`)).status).toBe(404);
    expect((await stack.fetch(`/v1/conversations/${bob}`)).status).toBe(200);
    expect((await stack.fetch(`/v1/conversations/${otherAlice}`, { key: OTHER_KEY })).status).toBe(200);
    expect((await list('?externalUserId=alice@example.com')).data).toEqual([]);
    const index = await new Kvm(nc).open('parley_index');
    const left: string[] = [];
    for await (const key of await index.keys()) if (alice.some((id) => key.endsWith(id))) left.push(key);
    expect(left).toEqual([]);
  });
});
