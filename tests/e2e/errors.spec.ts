// Errors reach the client as they are, whichever hop they start at: an upstream's Retry-After crosses
// inference, the responder and the gateway, and a stream that fails before its first token is an HTTP error.
import { connect } from 'node:net';
import { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_KEY, MODEL, Stack, collectSse } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await Stack.start();
});
afterAll(() => stack?.stop());
beforeEach(() => stack.configureSim({ fault: null }));

const chat = (stream: boolean) => ({
  method: 'POST',
  json: { model: MODEL, stream, messages: [{ role: 'user', content: 'Hello' }] },
});

/** Sends `head` (request line and headers) on a raw connection and returns everything the server answered. */
function rawExchange(head: string, timeoutMs = 5_000): Promise<{ response: string; closedAfterMs: number }> {
  const { port } = new URL(stack.gatewayUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head));
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway did not close the connection within ${timeoutMs} ms; got: ${response}`));
    }, timeoutMs);
    socket.on('data', (chunk) => (response += String(chunk)));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closedAfterMs: performance.now() - started });
    });
  });
}

describe('errors', () => {
  it('errors - a body declared larger than PARLEY_MAX_BODY_BYTES is refused at once with 413, unread', async () => {
    const { response, closedAfterMs } = await rawExchange(
      [
        'POST /v1/chat/completions HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Bearer ${API_KEY}`,
        'Content-Type: application/json',
        'Content-Length: 2000000',
        '',
        '',
      ].join('\r\n'),
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('"code":"payload_too_large"');
    // Not one byte of the body was sent: the answer and the close came without waiting for it.
    expect(closedAfterMs).toBeLessThan(2_000);
  });

  it('errors - an upstream 429 with Retry-After: 7 reaches the client as 429 with Retry-After: 7', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    for (const stream of [false, true]) {
      const res = await stack.fetch('/v1/chat/completions', chat(stream));
      expect(res.status, `stream: ${stream}`).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
    }
  });

  it('errors - the official openai client sees a streamed request refused as a RateLimitError with the header', async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    const error = await stack
      .openai()
      .chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers?.get('retry-after')).toBe('7');
  });

  it("errors - a conversation turn's error event carries the upstream's Retry-After", async () => {
    await stack.configureSim({ fault: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
    const { id } = (await (await stack.fetch('/v1/conversations', { method: 'POST', json: {} })).json()) as {
      id: string;
    };
    const events = await collectSse(
      await stack.fetch(`/v1/conversations/${id}/messages`, { method: 'POST', json: { content: 'Hello' } }),
    );
    expect(events.map((e) => e.event)).toEqual(['error']);
    expect(JSON.parse(events[0]!.data)).toMatchObject({
      error: { code: 'rate_limited', retryable: true, retryAfterSeconds: 7 },
    });
  });

  it('errors - a stream that fails after its first token ends with an error line inside the 200 response', async () => {
    await stack.configureSim({ fault: { kind: 'cut', afterTokens: 3 } });
    const res = await stack.fetch('/v1/chat/completions', chat(true));
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n').filter((line) => line.startsWith('data: '));
    expect(lines.length).toBeGreaterThan(1);
    // The same error body as an HTTP error's, which the SDKs raise as APIError.
    expect(JSON.parse(lines.at(-1)!.slice('data: '.length))).toEqual({
      error: { code: 'upstream_error', type: 'server_error', param: null, message: expect.any(String) },
    });
    expect(lines).not.toContain('data: [DONE]');
  });
});
