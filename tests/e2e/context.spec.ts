import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, collectSse } from './stack.js';

const DEPLOYMENT_PROMPT = 'You are the support assistant of Acme.';
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    sim: { replyText: 'ok' },
    // 200 tokens for the prompt; the sim model's tokens are estimated at one per 3 bytes.
    env: {
      PARLEY_SYSTEM_PROMPT: DEPLOYMENT_PROMPT,
      PARLEY_CONTEXT_WINDOW_TOKENS: '300',
      PARLEY_RESERVED_OUTPUT_TOKENS: '100',
    },
  });
});
afterAll(() => stack?.stop());

async function conversation(systemPrompt?: string): Promise<string> {
  const res = await stack.fetch('/v1/conversations', { method: 'POST', json: systemPrompt ? { systemPrompt } : {} });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; systemPrompt?: string };
  expect(body.systemPrompt).toBe(systemPrompt);
  return body.id;
}

async function send(id: string, content: string): Promise<Response> {
  const res = await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content } });
  if (res.status === 200) await collectSse(res);
  return res;
}

describe('context', () => {
  it('context - the deployment and conversation system prompts come first, in that order', async () => {
    const id = await conversation('Answer in one sentence.');
    await stack.clearSimRequests();
    await send(id, 'hello');
    const [request] = await stack.simRequests();
    expect(request?.body?.messages).toEqual([
      { role: 'system', content: DEPLOYMENT_PROMPT },
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'hello' },
    ]);
  });

  it('context - history is cut to the token budget: system prompt kept, newest messages kept', async () => {
    const id = await conversation();
    for (let i = 1; i <= 6; i++) await send(id, `question ${i} `.padEnd(120, 'x'));
    await stack.clearSimRequests();
    await send(id, 'latest question');
    const [request] = await stack.simRequests();
    const messages = request!.body!.messages;
    expect(messages[0]).toEqual({ role: 'system', content: DEPLOYMENT_PROMPT });
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'latest question' });
    const questions = messages.filter((m) => m.content.startsWith('question')).map((m) => m.content.slice(0, 10));
    expect(questions.length).toBeGreaterThan(0);
    expect(questions.length).toBeLessThan(6);
    expect(questions.at(-1)).toBe('question 6');
    const estimatedTokens = messages.reduce((sum, m) => sum + Math.ceil(Buffer.byteLength(m.content) / 3) + 4, 0);
    expect(estimatedTokens).toBeLessThanOrEqual(200);
  });

  it('context - a message too large for the window is a 400 before any upstream call, and is not stored', async () => {
    const id = await conversation();
    await stack.clearSimRequests();
    const res = await send(id, 'y'.repeat(1_000));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'context_length_exceeded' } });
    expect(await stack.simRequests()).toEqual([]);
    const stored = await stack.fetch(`/v1/conversations/${id}`);
    expect(((await stored.json()) as { messages: unknown[] }).messages).toEqual([]);
  });

  it('context - a conversation system prompt over the limit is refused', async () => {
    const res = await stack.fetch('/v1/conversations', { method: 'POST', json: { systemPrompt: 'z'.repeat(8_001) } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
