/**
 * scripts/check-stream.ts against real HTTP: llm-sim streams a reply token by token, behind a proxy that
 * passes the stream on as it comes or one that holds the whole response until it ends (what a buffering edge
 * does). The script must pass the first, fail the second, and never print the key.
 */
import { spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startService, type ServiceHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bursts, completionsUrl, judge, redact } from './check-stream.ts';

const SCRIPT = fileURLToPath(new URL('./check-stream.ts', import.meta.url));
const KEY = 'sk-check-stream-secret-7f3a9c';
const TOKENS = 30;

let sim: ServiceHandle | undefined;
const proxies: Server[] = [];
const urls = { streaming: '', buffering: '' };

/** A proxy to `upstream` that checks the key like the gateway and streams or buffers the response. */
function proxy(upstream: string, buffer: boolean): Promise<string> {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'invalid API key' } }));
      return;
    }
    const forward = request(
      new URL(req.url ?? '/', upstream),
      { method: req.method, headers: { 'content-type': 'application/json' } },
      (answer) => {
        const headers = { 'content-type': answer.headers['content-type'] ?? 'text/plain' };
        if (!buffer) {
          res.writeHead(answer.statusCode ?? 502, headers);
          res.flushHeaders();
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    req.pipe(forward);
  });
  proxies.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** Runs the script as `npm run check:stream` would, with `args` and extra environment. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

beforeAll(async () => {
  sim = await startService('llm-sim', {
    env: {
      LLM_SIM_PORT: '0',
      LLM_SIM_TTFT_MS: '50',
      LLM_SIM_INTER_TOKEN_MS: '20',
      LLM_SIM_TOKENS: String(TOKENS),
    },
  });
  const upstream = String(sim.ready.url);
  urls.streaming = await proxy(upstream, false);
  urls.buffering = await proxy(upstream, true);
});

afterAll(async () => {
  for (const server of proxies) server.close();
  await sim?.kill();
});

describe('check-stream - a streamed reply through the edge', () => {
  it('passes a proxy that streams, printing the time to first token and the spread', async () => {
    const { code, out, err } = await run(['--url', urls.streaming, '--key', KEY, '--model', 'sim-model']);
    expect(err).toBe('');
    expect(out).toMatch(
      new RegExp(`time to first token \\d+ ms \\(first byte \\d+ ms\\); ${TOKENS} chunks over \\d+ ms in \\d+ bursts`),
    );
    expect(out).toContain(`check-stream: OK: streamed token by token through ${urls.streaming}`);
    expect(code).toBe(0);
  });

  it('fails a proxy that buffers the whole response, with one line, exit 1', async () => {
    const { code, out, err } = await run(['--url', urls.buffering, '--model', 'sim-model'], { PARLEY_API_KEY: KEY });
    expect(err.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^check-stream: FAIL: buffered: ${TOKENS} of ${TOKENS} chunks arrived within \\d+ ms, \\d+ ms after`,
        ),
      ),
    ]);
    expect(out).toMatch(new RegExp(`${TOKENS} chunks over \\d+ ms in 1 bursts \\(largest ${TOKENS}\\)`));
    expect(code).toBe(1);
  });

  it('fails a refused key with the status and message, never printing the key', async () => {
    const wrong = `${KEY}-wrong`;
    const refused = await run(['--url', `${urls.streaming}/`, '--key', wrong, '--model', 'sim-model']);
    expect(refused.err.trim()).toBe(
      `check-stream: FAIL: POST ${urls.streaming}/v1/chat/completions answered 401: invalid API key`,
    );
    expect(refused.code).toBe(1);
    const passed = await run(['--url', urls.streaming, '--key', KEY, '--model', 'sim-model']);
    for (const output of [refused.out, refused.err, passed.out, passed.err]) {
      expect(output).not.toContain(KEY);
    }
    // Without a key it says how to run it, and does not try.
    const usage = await run(['--url', urls.streaming]);
    expect(usage.err).toMatch(/^usage: npm run check:stream -- --url/);
    expect(usage.code).toBe(2);
  });
});

describe('check-stream - judging the arrivals', () => {
  const timing = (chunkMs: number[]) => ({ firstByteMs: chunkMs[0] ?? 0, chunkMs, endMs: (chunkMs.at(-1) ?? 0) + 1 });

  it('bursts are runs of arrivals closer than the gap', () => {
    expect(bursts([0, 1, 2, 30, 31, 60], 5)).toEqual([[0, 1, 2], [30, 31], [60]]);
  });

  it('passes chunks 25 ms apart, fails one burst at the end, a few large flushes, or too few chunks', () => {
    const steady = Array.from({ length: 40 }, (_, i) => 300 + i * 25);
    expect(judge(timing(steady))).toMatchObject({ ok: true, reason: '' });
    const atEnd = Array.from({ length: 40 }, (_, i) => 3000 + i * 0.05);
    expect(judge(timing(atEnd)).reason).toMatch(/^buffered: 40 of 40 chunks arrived within 2 ms, 3000 ms after/);
    // A proxy that flushes every 4 KB: 5 flushes of 8 chunks each, 600 ms apart.
    const flushes = Array.from({ length: 40 }, (_, i) => 600 * Math.floor(i / 8) + (i % 8) * 0.1);
    expect(judge(timing(flushes)).reason).toBe(
      'buffered: 40 chunks arrived in only 5 bursts (a proxy between here and the gateway flushes only when its buffer fills)',
    );
    expect(judge(timing([100, 200, 300])).reason).toBe(
      'only 3 chunks with content: too few to tell streaming from buffering',
    );
    expect(judge(timing([])).reason).toBe('the reply carried no content');
  });

  it('prints no credentials of the URL and no key', () => {
    expect(String(completionsUrl('https://user:pw@chat.example.com/?token=x'))).toBe(
      'https://chat.example.com/v1/chat/completions',
    );
    expect(redact('Bearer sk-abc failed', ['sk-abc', ''])).toBe('Bearer *** failed');
  });
});
