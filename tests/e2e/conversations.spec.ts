import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, OTHER_KEY, Stack, collectSse } from './stack.js';

const REPLY = 'Sure, I can help with that.';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({ sim: { replyText: REPLY } });
});
afterAll(() => stack?.stop());

async function createConversation(key?: string): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: {}, key });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; object: string; model: string };
  expect(body).toMatchObject({ object: 'conversation', model: MODEL });
  return body.id;
}

async function send(id: string, content: string) {
  const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content } });
  return { res, events: res.status === 200 ? await collectSse(res) : [] };
}

async function messagesOf(id: string) {
  const res = await stack.fetch(`/v1/conversations/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: { role: string; content: string; id: string }[] }).messages;
}

describe('conversations', () => {
  it('conversations - a turn streams delta events then one done, numbered from 1', async () => {
    const id = await createConversation();
    const { res, events } = await send(id, 'Where is my order?');
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.event).toBe('done');
    expect(events.slice(0, -1).every((e) => e.event === 'delta')).toBe(true);
    const text = events
      .filter((e) => e.event === 'delta')
      .map((e) => (JSON.parse(e.data) as { text: string }).text)
      .join('');
    expect(text).toBe(REPLY);
    const done = JSON.parse(events.at(-1)!.data) as { messageId: string; finishReason: string; turnId: string };
    expect(done).toMatchObject({ finishReason: 'stop', model: MODEL, turnId: res.headers.get('x-parley-turn-id') });
    const stored = await messagesOf(id);
    expect(stored.at(-1)?.id).toBe(done.messageId);
  });

  it('conversations - history after two turns holds both exchanges, and the model saw the first', async () => {
    const id = await createConversation();
    await send(id, 'first question');
    await stack.clearSimRequests();
    await send(id, 'second question');
    const messages = await messagesOf(id);
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'first question'],
      ['assistant', REPLY],
      ['user', 'second question'],
      ['assistant', REPLY],
    ]);
    const [upstream] = await stack.simRequests();
    expect(upstream?.body?.messages.map((m) => m.content)).toEqual(['first question', REPLY, 'second question']);
    expect(upstream?.headers['x-parley-conversation-id']).toBe(id);
  });

  it('conversations - another key gets 404 for a conversation it did not create', async () => {
    const id = await createConversation();
    const read = await stack.fetch(`/v1/conversations/${id}`, { key: OTHER_KEY });
    expect(read.status).toBe(404);
    expect(await read.json()).toMatchObject({ error: { code: 'conversation_not_found' } });
    const write = await stack.fetch(`/v1/conversations/${id}/messages`, {
      method: 'POST',
      key: OTHER_KEY,
      json: { content: 'hi' },
    });
    expect(write.status).toBe(404);
    expect(await messagesOf(id)).toEqual([]);
  });
});

describe('bad input', () => {
  const big = 'x'.repeat(32 * 1024 + 1);
  const cases: {
    name: string;
    path: (id: string) => string;
    body: string;
    status: number;
    code: string;
    type?: string;
  }[] = [
    {
      name: 'malformed JSON',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: '{"content":',
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'wrong type',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: '{"content":42}',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'empty message',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: '{"content":"  "}',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'unknown field',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: '{"content":"a","x":1}',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'message over 32 KB',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: JSON.stringify({ content: big }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'body over 1 MB',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: JSON.stringify({ content: 'y'.repeat(1024 * 1024) }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'not JSON content type',
      path: (id) => `/v1/conversations/${id}/messages`,
      body: 'hello',
      status: 415,
      code: 'unsupported_media_type',
      type: 'text/plain',
    },
    {
      name: 'unknown conversation',
      path: () => `/v1/conversations/conv_doesnotexist/messages`,
      body: '{"content":"a"}',
      status: 404,
      code: 'conversation_not_found',
    },
    {
      name: 'bad conversation id',
      path: () => `/v1/conversations/${encodeURIComponent('conv.*>')}/messages`,
      body: '{"content":"a"}',
      status: 400,
      code: 'invalid_id',
    },
    {
      name: 'unknown model on create',
      path: () => '/v1/conversations',
      body: '{"model":"nope"}',
      status: 404,
      code: 'model_not_found',
    },
  ];

  for (const c of cases) {
    it(`bad input - ${c.name} gets ${c.status} ${c.code} and stores nothing`, async () => {
      const id = await createConversation();
      await stack.clearSimRequests();
      const res = await stack.fetch(c.path(id), {
        method: 'POST',
        body: c.body,
        headers: { 'content-type': c.type ?? 'application/json' },
      });
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(c.code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(await messagesOf(id)).toEqual([]);
      expect(await stack.simRequests()).toEqual([]);
    });
  }

  const chatCases: { name: string; body: unknown; status: number; code: string }[] = [
    { name: 'missing messages', body: { model: MODEL }, status: 400, code: 'invalid_request' },
    { name: 'empty messages', body: { model: MODEL, messages: [] }, status: 400, code: 'invalid_request' },
    {
      name: 'wrong role',
      body: { model: MODEL, messages: [{ role: 'robot', content: 'x' }] },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'n > 1',
      body: { model: MODEL, n: 2, messages: [{ role: 'user', content: 'x' }] },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'unknown model',
      body: { model: 'nope', messages: [{ role: 'user', content: 'x' }] },
      status: 404,
      code: 'model_not_found',
    },
    {
      name: 'message over 32 KB',
      body: { model: MODEL, messages: [{ role: 'user', content: 'z'.repeat(40_000) }] },
      status: 413,
      code: 'payload_too_large',
    },
  ];
  for (const c of chatCases) {
    it(`bad input - chat completions with ${c.name} gets ${c.status} in OpenAI's error shape`, async () => {
      await stack.clearSimRequests();
      const res = await stack.fetch('/v1/chat/completions', { method: 'POST', json: c.body });
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as { error: { code: string; type: string; message: string } };
      expect(body.error).toMatchObject({ code: c.code, type: expect.any(String), message: expect.any(String) });
      expect(await stack.simRequests()).toEqual([]);
    });
  }

  it('bad input - the openai client raises NotFoundError for an unknown model', async () => {
    await expect(
      stack.openai().chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});
