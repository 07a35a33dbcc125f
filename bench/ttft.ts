/**
 * Time to first token through the whole stack (gateway → responder → inference → llm-sim) versus straight
 * to llm-sim, sequential streamed requests, plus each service's resident memory afterwards.
 * Run: `npm run build && node bench/ttft.ts [requests=200]`. Uses its own nats-server on a free port.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, stop, type Running } from '../scripts/local.ts';

const REQUESTS = Number(process.argv[2] ?? 200);
const WARMUP = 20;
const KEY = 'pk-bench';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Milliseconds from sending the request to the first content token in the SSE body. */
async function ttft(url: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'sim-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const decoder = new TextDecoder();
  let first = 0;
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    if (!first && buffer.includes('"content":"') && !buffer.includes('"content":""')) first = performance.now();
    else if (!first && /"content":"[^"]/.test(buffer)) first = performance.now();
  }
  if (!first) throw new Error(`no token from ${url}: ${buffer.slice(0, 200)}`);
  return first - started;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
}

const natsPort = await freePort();
const storeDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', storeDir], {
  stdio: 'ignore',
});
const services: Running[] = [];
try {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const base = { ...process.env, NATS_URL: `nats://127.0.0.1:${natsPort}`, LOG_LEVEL: 'info' };
  const sim = run('llm-sim', {
    ...base,
    LLM_SIM_PORT: '0',
    LLM_SIM_TTFT_MS: '20',
    LLM_SIM_INTER_TOKEN_MS: '5',
    LLM_SIM_TOKENS: '5',
  });
  services.push(sim);
  const simUrl = String((await sim.ready).url);
  const env = { ...base, PARLEY_UPSTREAM_BASE_URL: `${simUrl}/v1`, PARLEY_API_KEYS: KEY, PORT: '0', HOST: '127.0.0.1' };
  const inference = run('inference', env);
  const responder = run('responder', env);
  services.push(inference, responder);
  await Promise.all([inference.ready, responder.ready]);
  const gateway = run('gateway', env);
  services.push(gateway);
  const gatewayUrl = `http://127.0.0.1:${String((await gateway.ready).port)}`;

  const direct = () => ttft(`${simUrl}/v1/chat/completions`, {});
  const stack = () => ttft(`${gatewayUrl}/v1/chat/completions`, { authorization: `Bearer ${KEY}` });
  for (let i = 0; i < WARMUP; i++) await Promise.all([direct(), stack()]);
  const results = { direct: [] as number[], stack: [] as number[] };
  for (let i = 0; i < REQUESTS; i++) {
    results.direct.push(await direct());
    results.stack.push(await stack());
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([name, values]) => {
      const sorted = values.sort((a, b) => a - b);
      return [name, { p50: +percentile(sorted, 50).toFixed(2), p99: +percentile(sorted, 99).toFixed(2) }];
    }),
  );
  const memory = Object.fromEntries(services.map((s) => [s.app, `${rssMb(s.child.pid!)} MB`]));
  process.stdout.write(`\n${JSON.stringify({ requests: REQUESTS, ttftMs: summary, rss: memory }, null, 2)}\n`);
} finally {
  for (const s of services.reverse()) await stop(s.child);
  nats.kill();
  rmSync(storeDir, { recursive: true, force: true });
}
