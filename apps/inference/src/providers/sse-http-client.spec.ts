import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collect } from '@parley/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SseHttpClient } from './sse-http-client.js';

// A wire format that is not OpenAI's: named events, and a `stop` event instead of `[DONE]`.
const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
let connections = 0;
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (text: string) => (body += text));
  req.on('end', () => {
    requests.push({ headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('event: token\ndata: one\n\nevent: token\ndata: two\n\nevent: stop\ndata: {}\n\n');
  });
});
server.on('connection', () => connections++);
let client: SseHttpClient<string>;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new SseHttpClient({
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`),
    headers: { 'x-api-key': 'k-123' },
    requestTimeoutMs: 5_000,
    upstream: 'the test server',
    framing: { isEnd: (event) => event.event === 'stop', decode: (event) => `${event.event}:${event.data}` },
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('sse client - any framing: yields each decoded event up to the end event, on one kept-alive connection', async () => {
  const signal = new AbortController().signal;
  for (let i = 0; i < 3; i++) {
    expect(await collect(client.stream({ n: i }, { 'x-request': String(i) }, signal))).toEqual([
      'token:one',
      'token:two',
    ]);
  }
  expect(requests.map((r) => JSON.parse(r.body))).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
  expect(requests[2]!.headers).toMatchObject({
    'x-request': '2',
    'x-api-key': 'k-123',
    accept: 'text/event-stream',
    'content-type': 'application/json',
  });
  expect(connections).toBe(1);
});
