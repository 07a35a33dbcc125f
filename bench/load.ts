/**
 * The load generator, run in its own process by bench/run.ts: sends `requests` streamed (or whole) chat
 * requests with `concurrency` in flight over keep-alive sockets with Nagle off, and prints one JSON summary.
 * Every streamed reply is checked against the expected text: a lost or reordered token is an error.
 */
import { Agent, request } from 'node:http';

interface Job {
  url: string;
  headers: Record<string, string>;
  /** One body per request (conversation URLs differ per request, so bodies come with their URL). */
  requests: { path: string; body: unknown }[];
  concurrency: number;
  stream: boolean;
  /** `openai`: `data: {choices:[{delta:{content}}]}`; `conversation`: `event: delta` / `data: {text}`. */
  format: 'openai' | 'conversation';
  expectedText?: string;
}

interface Result {
  ttftMs: number;
  gapsMs: number[];
  ok: boolean;
  error?: string;
}

// The job comes on stdin: thousands of request bodies do not fit in argv.
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const job = JSON.parse(input) as Job;
const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
const base = new URL(job.url);

function one({ path, body }: { path: string; body: unknown }): Promise<Result> {
  return new Promise((resolve) => {
    const started = performance.now();
    let ttftMs = -1;
    let last = 0;
    const gapsMs: number[] = [];
    let text = '';
    let buffer = '';
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...job.headers },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!job.stream) {
            buffer += chunk;
            return;
          }
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event
              .split('\n')
              .find((l) => l.startsWith('data:'))
              ?.slice(5)
              .trim();
            if (!data || data === '[DONE]') continue;
            const delta = extract(data);
            if (!delta) continue;
            const now = performance.now();
            if (ttftMs < 0) ttftMs = now - started;
            else gapsMs.push(now - last);
            last = now;
            text += delta;
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve({ ttftMs, gapsMs, ok: false, error: `HTTP ${res.statusCode}` });
          if (!job.stream) {
            const whole = performance.now() - started;
            return resolve({ ttftMs: whole, gapsMs, ok: true });
          }
          const ok = job.expectedText === undefined || text === job.expectedText;
          resolve({ ttftMs, gapsMs, ok, error: ok ? undefined : 'lost or reordered tokens' });
        });
        res.on('error', (error) => resolve({ ttftMs, gapsMs, ok: false, error: error.message }));
      },
    );
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', (error) => resolve({ ttftMs, gapsMs, ok: false, error: error.message }));
    req.end(JSON.stringify(body));
  });
}

function extract(data: string): string | undefined {
  try {
    const parsed = JSON.parse(data) as { text?: string; choices?: { delta?: { content?: string } }[] };
    return job.format === 'conversation' ? parsed.text : parsed.choices?.[0]?.delta?.content || undefined;
  } catch {
    return undefined;
  }
}

const results: Result[] = [];
let next = 0;
const started = performance.now();
async function worker(): Promise<void> {
  while (next < job.requests.length) results.push(await one(job.requests[next++]!));
}
await Promise.all(Array.from({ length: job.concurrency }, worker));
const elapsedS = (performance.now() - started) / 1000;
agent.destroy();
process.stdout.write(
  JSON.stringify({
    ttftMs: results.filter((r) => r.ok).map((r) => r.ttftMs),
    gapsMs: results.flatMap((r) => r.gapsMs),
    errors: results.filter((r) => !r.ok).map((r) => r.error),
    elapsedS,
    count: results.length,
  }),
);
