/**
 * `npm run bench [-- --quick]`: Parley side by side with a peer gateway (Portkey) against the same llm-sim,
 * in one run: added time to first token and token gaps at several concurrencies, smooth and bursty streams,
 * lost or reordered tokens, non-streaming throughput, memory, CPU per 1,000 turns and time to ready.
 * Writes raw JSON to bench/results/ and (full runs) the report to docs/benchmarks.md, with the performance
 * budget of docs/architecture.md judged against the floor-chain and Portkey figures of the same run
 * (bench/report.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { format, resolveConfig } from 'prettier';
import { ROOT, SERVICE_NODE_FLAGS, run, stop, type Running } from '../scripts/local.ts';
import { renderReport, type BenchReport, type Summary } from './report.ts';

const QUICK = process.argv.includes('--quick');
/** `--streams=1,10`, `--modes=smooth`, `--repeats=5`: one line measured closely; written to bench/results only. */
const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const PARTIAL = ['streams', 'modes', 'repeats'].some((name) => option(name) !== undefined);
const CONCURRENCY = option('streams')?.split(',').map(Number) ?? (QUICK ? [1, 10] : [1, 10, 64, 256]);
const MODES = (option('modes')?.split(',') ?? (QUICK ? ['smooth'] : ['smooth', 'bursty'])) as ('smooth' | 'bursty')[];
const REPEATS = Number(option('repeats') ?? (QUICK ? 1 : 3));
const TOKENS = QUICK ? 10 : 20;
const KEY = 'pk-bench-4f9c2a7e1b8d';
const ADMIN_KEY = 'pk-bench-admin-4f9c2a7e1b8d';
// parley-followup: the second message of a conversation (its history is read first, as in every turn after
// the first of a real chat).
// parley-unlimited: parley-openai with a key whose project has no limits; the difference is what limits cost.
// parley-unguarded: parley-openai with a key whose project has the same limits and every guardrail off (the
// benchmark's guardrails file); the difference is what the default guardrails cost.
// floor-proxy, floor-pair and floor-chain (bench/floor.ts): a bare single-hop proxy; a bare gateway and one
// worker behind one NATS hop; Parley's three processes and two NATS hops with none of its code. What Parley
// adds above floor-chain is its own work.
const TARGETS = [
  'direct',
  'portkey',
  'floor-proxy',
  'floor-pair',
  'floor-chain',
  'parley-openai',
  'parley-unlimited',
  'parley-unguarded',
  'parley-conversation',
  'parley-followup',
] as const;
type Target = (typeof TARGETS)[number];

const REPLY = Array.from({ length: TOKENS }, (_, i) => `w${i}`).join(' ');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const median = (values: number[]) => percentile(values, 50);
const round = (value: number) => Math.round(value * 100) / 100;

/**
 * Memory only this process holds (private pages, USS). Resident memory (RSS) also counts the Node executable's
 * pages, about 50 MB that every Node process on the host shares.
 */
function privateMb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

function procStat(pid: number): { rssMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssMb: rss, cpuS: (Number(fields[11]) + Number(fields[12])) / 100 };
}

// ── start everything ─────────────────────────────────────────────────────────────────────────────
const children: ChildProcess[] = [];
// Whatever happens, nothing the benchmark started outlives it.
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
const natsPort = await freePort();
const storeDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', storeDir], {
  stdio: 'ignore',
});
children.push(nats);
await waitForPort(natsPort);
// Limits are counted in Redis on the hot path: the benchmark runs with its own, as a deployment does.
const redisPort = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {
    stdio: 'ignore',
  },
);
children.push(redis);
await waitForPort(redisPort);

const base = { ...process.env, NATS_URL: `nats://127.0.0.1:${natsPort}`, LOG_LEVEL: 'info' };
const sim = run('llm-sim', { ...base, LLM_SIM_PORT: '0' }, { echo: false });
children.push(sim.child);
const simUrl = String((await sim.ready).url);
// The default guardrails for every project but bench-unguarded, which has them all off.
const guardrailsFile = join(mkdtempSync(join(tmpdir(), 'parley-bench-')), 'guardrails.yaml');
writeFileSync(
  guardrailsFile,
  [
    'projects:',
    '  bench-unguarded:',
    '    pii: { input: off, output: off }',
    '    injection: { action: off }',
    '    leak: { action: off }',
    '',
  ].join('\n'),
);
const env = {
  ...base,
  PARLEY_GUARDRAILS_FILE: guardrailsFile,
  PARLEY_UPSTREAM_BASE_URL: `${simUrl}/v1`,
  PARLEY_API_KEYS: KEY,
  PARLEY_ADMIN_API_KEYS: ADMIN_KEY,
  PARLEY_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  // The benchmark creates its conversations before each clock starts, thousands a minute.
  PARLEY_CONVERSATIONS_PER_MINUTE: '1000000000',
  PORT: '0',
  HOST: '127.0.0.1',
  PARLEY_OPS_PORT: '0',
};
const readyMs: Record<string, number> = {};
const timed = async (
  app: 'gateway' | 'responder' | 'inference',
): Promise<Running & { record: Record<string, unknown> }> => {
  const started = performance.now();
  const service = run(app, env, { echo: false });
  children.push(service.child);
  const record = await service.ready;
  readyMs[app] = Math.round(performance.now() - started);
  return { ...service, record };
};
const [inference, responder] = await Promise.all([timed('inference'), timed('responder')]);
const gateway = await timed('gateway');
const gatewayUrl = `http://127.0.0.1:${String(gateway.record.port)}`;
// Every turn of the bootstrap key reserves against the default project's limits (none of them is reached);
// parley-unlimited's key is in a project without any: the two side by side are what limits cost.
const BENCH_LIMITS = { requestsPerMinute: 1e9, tokensPerMinute: 1e12, concurrentStreams: 1e6, tokensPerDay: 1e13 };
const limitsOn = await fetch(`${gatewayUrl}/v1/admin/projects/default`, {
  method: 'PATCH',
  headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ limits: BENCH_LIMITS }),
});
if (!limitsOn.ok) throw new Error(`could not set the benchmark's limits: ${limitsOn.status} ${await limitsOn.text()}`);
const adminPost = async (path: string, body: unknown) => {
  const res = await fetch(`${gatewayUrl}/v1/admin/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST /v1/admin/${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key?: string };
};
await adminPost('projects', { id: 'bench-unlimited' });
const UNLIMITED_KEY = (await adminPost('keys', { project: 'bench-unlimited', name: 'bench', scopes: ['chat'] })).key!;
await adminPost('projects', { id: 'bench-unguarded', limits: BENCH_LIMITS });
const UNGUARDED_KEY = (await adminPost('keys', { project: 'bench-unguarded', name: 'bench', scopes: ['chat'] })).key!;
const services = { gateway, responder, inference };

const portkeyPort = await freePort();
const portkey = spawn(
  process.execPath,
  [
    '--import',
    join(ROOT, 'bench/portkey-preload.mjs'),
    join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
    `--port=${portkeyPort}`,
    '--headless',
  ],
  { stdio: 'ignore' },
);
children.push(portkey);
await waitForPort(portkeyPort);

// bench/floor.ts runs as plain JavaScript with the services' V8 flags: Node's type stripping alone holds 20-30 MB, and the floor's
// memory is meant to be what Node and the NATS client need.
const floorJs = join(ROOT, 'dist/bench/floor.mjs');
mkdirSync(dirname(floorJs), { recursive: true });
writeFileSync(floorJs, stripTypeScriptTypes(readFileSync(join(ROOT, 'bench/floor.ts'), 'utf8')));
const floorPids: Record<string, number> = {};
/** Starts one bench/floor.ts process and resolves with the port it serves on, if any. */
function startFloor(args: string[]): Promise<number | undefined> {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, floorJs, ...args], {
    env: { ...base, FLOOR_UPSTREAM: `${simUrl}/v1`, FLOOR_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  floorPids[`floor ${args.join(' ')}`] = child.pid!;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`floor ${args.join(' ')} not ready in 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`floor ${args.join(' ')} exited ${code}`)));
    child.stdout!.once('data', (line: Buffer) => {
      clearTimeout(timer);
      resolve((JSON.parse(String(line)) as { port?: number }).port);
    });
  });
}
const floorProxyPort = await startFloor(['proxy']);
await Promise.all([startFloor(['chain', 'inference']), startFloor(['chain', 'responder'])]);
const floorChainPort = await startFloor(['chain', 'gateway']);
await startFloor(['pair', 'worker']);
const floorPairPort = await startFloor(['pair', 'gateway']);

async function configureSim(patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${simUrl}/sim/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  if (!res.ok) throw new Error(`llm-sim: ${await res.text()}`);
}

// ── one measurement ──────────────────────────────────────────────────────────────────────────────
interface LoadResult {
  ttftMs: number[];
  gapsMs: number[];
  errors: string[];
  elapsedS: number;
  count: number;
}

const openaiBody = (stream: boolean) => ({
  model: 'sim-model',
  stream,
  messages: [{ role: 'user', content: 'Where is my order?' }],
});

interface Job {
  url: string;
  headers: Record<string, string>;
  requests: { path: string; body: unknown }[];
  /** Turns run before the clock (a follow-up's first exchange), counted in CPU per turn. */
  seededTurns?: number;
}

async function jobFor(target: Target, count: number, stream: boolean): Promise<Job> {
  // Every OpenAI-format target gets the same requests; only where they go and their headers differ.
  const openai = (url: string, headers: Record<string, string> = {}): Job => ({
    url,
    headers,
    requests: Array(count).fill({ path: '/v1/chat/completions', body: openaiBody(stream) }),
  });
  const headers = { authorization: `Bearer ${KEY}` };
  switch (target) {
    case 'direct':
      return openai(simUrl);
    case 'portkey':
      return openai(`http://127.0.0.1:${portkeyPort}`, {
        authorization: 'Bearer sk-bench',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${simUrl}/v1`,
      });
    case 'floor-proxy':
      return openai(`http://127.0.0.1:${floorProxyPort}`);
    case 'floor-pair':
      return openai(`http://127.0.0.1:${floorPairPort}`);
    case 'floor-chain':
      return openai(`http://127.0.0.1:${floorChainPort}`);
    case 'parley-openai':
      return openai(gatewayUrl, headers);
    case 'parley-unlimited':
      return openai(gatewayUrl, { authorization: `Bearer ${UNLIMITED_KEY}` });
    case 'parley-unguarded':
      return openai(gatewayUrl, { authorization: `Bearer ${UNGUARDED_KEY}` });
  }
  // Conversations are created before the clock starts: one per request, so every turn starts fresh.
  const requests = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${gatewayUrl}/v1/conversations`, { method: 'POST', headers });
    if (!res.ok) throw new Error(`creating a conversation: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    requests.push({ path: `/v1/conversations/${id}/messages`, body: { content: 'Where is my order?' } });
  }
  if (target === 'parley-followup') {
    // The first exchange of each, also before the clock (with llm-sim at full speed meanwhile).
    const current = (await (await fetch(`${simUrl}/sim/config`)).json()) as Record<string, unknown>;
    await configureSim({ ttftMs: 0, interTokenMs: 0 });
    const seeded = await load({ url: gatewayUrl, headers, requests, concurrency: 16, stream, format: 'conversation' });
    await configureSim({ ttftMs: current.ttftMs, interTokenMs: current.interTokenMs });
    if (seeded.errors.length > 0) throw new Error(`seeding follow-up conversations: ${seeded.errors[0]}`);
    return {
      url: gatewayUrl,
      headers,
      requests: requests.map((r) => ({ ...r, body: { content: 'And when will it arrive?' } })),
      seededTurns: count,
    };
  }
  return { url: gatewayUrl, headers, requests };
}

function load(job: object): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench/load.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(job));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`)),
    );
  });
}

// ── streaming runs ───────────────────────────────────────────────────────────────────────────────
let peakRss: Record<string, number> = { gateway: 0, responder: 0, inference: 0 };
const sampler = setInterval(() => {
  for (const [name, service] of Object.entries(services)) {
    peakRss[name] = Math.max(peakRss[name]!, procStat(service.child.pid!).rssMb);
  }
}, 200);

const warm = async () => {
  await configureSim({ replyText: REPLY, ttftMs: 20, interTokenMs: 20, burst: 1, fault: null });
  for (const target of TARGETS) {
    const job = await jobFor(target, 20, true);
    await load({
      ...job,
      concurrency: 4,
      stream: true,
      format: target === 'parley-conversation' || target === 'parley-followup' ? 'conversation' : 'openai',
      expectedText: REPLY,
    });
  }
};
await warm();
const steadyRss = Object.fromEntries(
  Object.entries(services).map(([n, s]) => [n, round(procStat(s.child.pid!).rssMb)]),
);
peakRss = { ...steadyRss };
const steadyPrivate = Object.fromEntries(Object.entries(services).map(([n, s]) => [n, round(privateMb(s.child.pid!))]));
// The bare processes' memory: what Node and the NATS client hold with none of Parley's code.
const floorRss = Object.fromEntries(Object.entries(floorPids).map(([n, pid]) => [n, round(procStat(pid).rssMb)]));

interface Row {
  mode: string;
  concurrency: number;
  target: Target;
  repeat: number;
  ttft: { p50: number; p90: number; p99: number };
  gapP99: number;
  errors: number;
  lost: number;
  requests: number;
}
const rows: Row[] = [];
const cpuBefore = Object.values(services).reduce((sum, s) => sum + procStat(s.child.pid!).cpuS, 0);
let parleyTurns = 0;
// The bare chain's three processes serve only floor-chain's requests, so their CPU per turn compares with Parley's.
const chainPids = Object.entries(floorPids)
  .filter(([name]) => name.startsWith('floor chain'))
  .map(([, pid]) => pid);
const chainCpu = () => chainPids.reduce((sum, pid) => sum + procStat(pid).cpuS, 0);
const chainCpuBefore = chainCpu();
let chainTurns = 0;

for (const mode of MODES) {
  // 50 tokens/s: one token every 20 ms, sent one by one (smooth) or ten per chunk (bursty: llm-sim's burst).
  await configureSim(
    mode === 'smooth'
      ? { replyText: REPLY, ttftMs: 20, interTokenMs: 20, burst: 1 }
      : { replyText: REPLY, ttftMs: 20, interTokenMs: 20, burst: 10 },
  );
  for (const concurrency of CONCURRENCY) {
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const order = [...TARGETS].sort(() => Math.random() - 0.5);
      for (const target of order) {
        // At 10 streams, ten waves: enough for a p99 that is not simply the slowest of a handful.
        const count = QUICK ? Math.max(10, concurrency) : concurrency === 10 ? 100 : Math.max(20, concurrency * 2);
        const job = await jobFor(target, count, true);
        const format = target === 'parley-conversation' || target === 'parley-followup' ? 'conversation' : 'openai';
        const result = await load({ ...job, concurrency, stream: true, format, expectedText: REPLY });
        if (target.startsWith('parley')) parleyTurns += count + (job.seededTurns ?? 0);
        if (target === 'floor-chain') chainTurns += count;
        rows.push({
          mode,
          concurrency,
          target,
          repeat,
          ttft: {
            p50: percentile(result.ttftMs, 50),
            p90: percentile(result.ttftMs, 90),
            p99: percentile(result.ttftMs, 99),
          },
          gapP99: percentile(result.gapsMs, 99),
          errors: result.errors.filter((e) => e !== 'lost or reordered tokens').length,
          lost: result.errors.filter((e) => e === 'lost or reordered tokens').length,
          requests: result.count,
        });
        process.stderr.write(
          `bench | ${mode} c=${concurrency} #${repeat} ${target}: ttft p50 ${round(percentile(result.ttftMs, 50))} ms, errors ${result.errors.length}\n`,
        );
      }
    }
  }
}
const cpuAfter = Object.values(services).reduce((sum, s) => sum + procStat(s.child.pid!).cpuS, 0);
const chainCpuAfter = chainCpu();

// ── non-streaming throughput at saturation ───────────────────────────────────────────────────────
await configureSim({ replyText: 'ok', ttftMs: 0, interTokenMs: 0, burst: 1 });
const throughput: Record<string, number> = {};
for (const target of ['direct', 'portkey', 'parley-openai'] as const) {
  const count = QUICK ? 100 : 2_000;
  const job = await jobFor(target, count, false);
  const result = await load({ ...job, concurrency: QUICK ? 16 : 64, stream: false, format: 'openai' });
  throughput[target] = Math.round((result.count - result.errors.length) / result.elapsedS);
}
clearInterval(sampler);

// ── summary ──────────────────────────────────────────────────────────────────────────────────────
const summaries: Summary[] = [];
for (const mode of MODES) {
  for (const concurrency of CONCURRENCY) {
    const of = (target: Target) =>
      rows.filter((r) => r.mode === mode && r.concurrency === concurrency && r.target === target);
    const direct = of('direct');
    for (const target of TARGETS.filter((t) => t !== 'direct')) {
      const mine = of(target);
      // Per repeat, minus the baseline's same percentile in the same repeat; then the median over repeats.
      const added = (key: 'p50' | 'p90' | 'p99') =>
        round(median(mine.map((r, i) => r.ttft[key] - (direct[i]?.ttft[key] ?? NaN))));
      summaries.push({
        mode,
        concurrency,
        target,
        added: { p50: added('p50'), p90: added('p90'), p99: added('p99') },
        addedGapP99: round(median(mine.map((r, i) => r.gapP99 - (direct[i]?.gapP99 ?? NaN)))),
        errors: mine.reduce((s, r) => s + r.errors, 0),
        lost: mine.reduce((s, r) => s + r.lost, 0),
        requests: mine.reduce((s, r) => s + r.requests, 0),
      });
    }
  }
}
// The widget as `npm run build` left it, gzipped as the gateway serves it.
const widgetJs = join(ROOT, 'dist/apps/widget/widget.js');
let widgetGzipBytes: number | undefined;
try {
  widgetGzipBytes = gzipSync(readFileSync(widgetJs), { level: 9 }).length;
} catch {
  process.stderr.write(`bench | ${widgetJs} is not built; its size is not measured\n`);
}
const report: BenchReport = {
  date: new Date().toISOString(),
  quick: QUICK,
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  versions: {
    parley: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    portkey: (
      JSON.parse(readFileSync(join(ROOT, 'node_modules/@portkey-ai/gateway/package.json'), 'utf8')) as {
        version: string;
      }
    ).version,
  },
  settings: { concurrency: CONCURRENCY, modes: MODES, repeats: REPEATS, tokensPerReply: TOKENS },
  summaries,
  throughputRps: throughput,
  memoryMb: {
    steady: steadyRss,
    steadyPrivate,
    floor: floorRss,
    peak: Object.fromEntries(Object.entries(peakRss).map(([k, v]) => [k, round(v)])),
  },
  cpuSecondsPer1000Turns: round(((cpuAfter - cpuBefore) / Math.max(1, parleyTurns)) * 1000),
  floorChainCpuSecondsPer1000Turns: round(((chainCpuAfter - chainCpuBefore) / Math.max(1, chainTurns)) * 1000),
  widgetGzipBytes,
  readyMs,
  rows,
};

for (const child of children.reverse()) {
  if (child === nats || child === redis) continue;
  await stop(child);
}
nats.kill();
redis.kill();
rmSync(storeDir, { recursive: true, force: true });

mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const stamp = report.date.replace(/[:.]/g, '-');
writeFileSync(
  join(ROOT, `bench/results/${QUICK ? 'quick' : PARTIAL ? 'partial' : 'bench'}-${stamp}.json`),
  `${JSON.stringify(report, null, 2)}\n`,
);
// Formatted as the repository formats markdown, so the committed report is exactly what a run writes.
const reportFile = join(
  ROOT,
  QUICK ? 'bench/results/quick.md' : PARTIAL ? 'bench/results/partial.md' : 'docs/benchmarks.md',
);
const markdown = await format(renderReport(report), { ...(await resolveConfig(reportFile)), filepath: reportFile });
writeFileSync(reportFile, markdown);
process.stdout.write(markdown);

const failures = summaries.filter((s) => s.errors > 0 || s.lost > 0);
if (failures.length > 0) {
  process.stderr.write(`bench | errors or lost tokens in ${failures.length} configurations\n`);
  process.exitCode = 1;
}
