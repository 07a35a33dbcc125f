/**
 * The benchmark's report: what bench/run.ts measured, the performance budget of docs/architecture.md judged
 * against it, and the markdown of docs/benchmarks.md. Every budget line is relative to references measured
 * in the same run (floor-chain, Portkey), because absolute times on a shared machine move with the host.
 */

/** One target at one concurrency and mode: each percentile minus llm-sim's in the same repeat, median over repeats. */
export interface Summary {
  mode: string;
  concurrency: number;
  target: string;
  added: { p50: number; p90: number; p99: number };
  addedGapP99: number;
  errors: number;
  lost: number;
  requests: number;
}

/** What one run of bench/run.ts measured (also written as JSON to bench/results/). */
export interface BenchReport {
  date: string;
  quick: boolean;
  machine: { cpus: number; cpu: string | undefined; memoryGb: number; node: string };
  versions: { parley: string; portkey: string };
  settings: { concurrency: number[]; modes: string[]; repeats: number; tokensPerReply: number };
  summaries: Summary[];
  throughputRps: Record<string, number>;
  memoryMb: {
    /** Resident memory of each service after the warm-up. */
    steady: Record<string, number>;
    /** Memory only that service holds, at the same point. */
    steadyPrivate: Record<string, number>;
    /** Resident memory of each bare bench/floor.ts process (`floor chain gateway`, …), at the same point. */
    floor: Record<string, number>;
    peak: Record<string, number>;
  };
  cpuSecondsPer1000Turns: number;
  floorChainCpuSecondsPer1000Turns: number;
  /** The built widget's size, gzipped at level 9; absent when it was not built. */
  widgetGzipBytes?: number;
  readyMs: Record<string, number>;
  rows: unknown[];
}

/** One line of the budget, judged: `measured` is undefined when this run did not measure it. */
export interface BudgetLine {
  line: string;
  budget: string;
  measured: string | undefined;
  met: boolean;
  /** Which of a line's limits were missed. */
  missed?: string[];
}

/** The Parley routes: stateless (`/v1/chat/completions`), a conversation's first message, a follow-up. */
const ROUTES = ['parley-openai', 'parley-conversation', 'parley-followup'] as const;
const SERVICES = ['gateway', 'responder', 'inference'] as const;
/** The mode latency lines are judged in: one token per chunk at 50 tokens/s. */
const JUDGED_MODE = 'smooth';
const LOSSLESS_STREAMS = 256;
const PRIVATE_MB = 64;
const RESIDENT_ABOVE_FLOOR_MB = 40;
const WIDGET_GZIP_KB = 15;
const READY_MS = 1_500;
const LIMITS_MS_PER_TURN = 0.3;
const GUARDRAILS_MS_PER_FRAME = 0.2;

/** An upper limit; `rule` says how a relative one was derived from this run's references. */
interface Limit {
  rule?: string;
  value: number | undefined;
}

const round = (value: number) => Math.round(value * 100) / 100;
const known = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value);

/**
 * The budget of docs/architecture.md, each line judged against this run's own floor-chain and Portkey
 * figures.
 * @example budgetLines(report).filter((line) => !line.met)
 */
export function budgetLines(r: BenchReport): BudgetLine[] {
  const summary = (concurrency: number, target: string) =>
    r.summaries.find((s) => s.mode === JUDGED_MODE && s.concurrency === concurrency && s.target === target);
  const lines: BudgetLine[] = [];
  /**
   * A line with one or more upper limits, each named by its rule when it is relative; measured only when the
   * value and every limit are known.
   */
  const atMost = (line: string, value: number | undefined, unit: string, limits: Limit[]) => {
    const measured = known(value) && limits.every((l) => known(l.value));
    const missed = measured ? limits.filter((l) => value > l.value!) : [];
    lines.push({
      line,
      // A relative limit whose reference this run did not measure is shown by its rule alone.
      budget: limits
        .map((l) => (known(l.value) ? `≤ ${round(l.value)} ${unit}${l.rule ? ` (${l.rule})` : ''}` : l.rule))
        .join(', '),
      measured: measured ? `${round(value)} ${unit}` : undefined,
      met: measured && missed.length === 0,
      ...(limits.length > 1 && missed.length > 0 ? { missed: missed.map((l) => l.rule ?? '') } : {}),
    });
  };
  const plus = (value: number | undefined, add: number) => (known(value) ? value + add : undefined);
  const times = (value: number | undefined, factor: number) => (known(value) ? value * factor : undefined);

  // Added time to first token at 10 streams, on the stateless route (the work floor-chain does).
  const chain10 = summary(10, 'floor-chain')?.added;
  const portkey10 = summary(10, 'portkey')?.added;
  const parley10 = summary(10, 'parley-openai')?.added;
  atMost('added TTFT p50, 10 streams, parley-openai', parley10?.p50, 'ms', [
    { rule: 'floor-chain + 1 ms', value: plus(chain10?.p50, 1) },
    { rule: '⅕ Portkey', value: times(portkey10?.p50, 1 / 5) },
  ]);
  atMost('added TTFT p99, 10 streams, parley-openai', parley10?.p99, 'ms', [
    { rule: 'floor-chain + 3 ms', value: plus(chain10?.p99, 3) },
  ]);

  // Every route at 64 and 256 streams.
  for (const concurrency of [64, 256]) {
    const chain = summary(concurrency, 'floor-chain')?.added.p50;
    const portkey = summary(concurrency, 'portkey')?.added.p50;
    for (const route of ROUTES) {
      atMost(`added TTFT p50, ${concurrency} streams, ${route}`, summary(concurrency, route)?.added.p50, 'ms', [
        { rule: '2x floor-chain', value: times(chain, 2) },
        { rule: '¼ Portkey', value: times(portkey, 1 / 4) },
      ]);
    }
  }

  // No lost or reordered frames at 256 streams, on every Parley route and mode.
  const lossless = r.summaries.filter(
    (s) => s.concurrency === LOSSLESS_STREAMS && (ROUTES as readonly string[]).includes(s.target),
  );
  const lost = lossless.reduce((n, s) => n + s.lost, 0);
  const failed = lossless.reduce((n, s) => n + s.errors, 0);
  lines.push({
    line: `lost or reordered frames, ${LOSSLESS_STREAMS} streams at 50 tokens/s, every Parley route`,
    budget: '0',
    measured:
      lossless.length > 0
        ? `${lost} in ${lossless.reduce((n, s) => n + s.requests, 0)} streams (${failed} ended in an error)`
        : undefined,
    met: lossless.length > 0 && lost === 0 && failed === 0,
  });

  atMost('CPU seconds per 1,000 turns, three services', r.cpuSecondsPer1000Turns, 's', [
    { rule: "1.5x floor-chain's", value: times(r.floorChainCpuSecondsPer1000Turns, 1.5) },
  ]);
  const rps = r.throughputRps['parley-openai'];
  const minimumRps = times(r.throughputRps.portkey, 3);
  lines.push({
    line: 'non-streamed requests/s, parley-openai',
    budget: known(minimumRps) ? `≥ ${Math.round(minimumRps)} (3x Portkey's)` : "3x Portkey's",
    measured: known(rps) && known(minimumRps) ? String(rps) : undefined,
    met: known(rps) && known(minimumRps) && rps >= minimumRps,
  });

  for (const service of SERVICES) {
    atMost(`private memory at steady state, ${service}`, r.memoryMb.steadyPrivate[service], 'MB', [
      { value: PRIVATE_MB },
    ]);
  }
  for (const service of SERVICES) {
    const floor = `floor chain ${service}`;
    atMost(`resident memory at steady state, ${service}`, r.memoryMb.steady[service], 'MB', [
      {
        rule: `${floor} + ${RESIDENT_ABOVE_FLOOR_MB} MB`,
        value: plus(r.memoryMb.floor[floor], RESIDENT_ABOVE_FLOOR_MB),
      },
    ]);
  }
  atMost('widget script, gzipped', times(r.widgetGzipBytes, 1 / 1024), 'KB', [{ value: WIDGET_GZIP_KB }]);
  for (const service of SERVICES) {
    atMost(`ready after start, ${service}`, r.readyMs[service], 'ms', [{ value: READY_MS }]);
  }

  // Limits, on and off in the same run: the same route with a key whose project has none.
  const unlimited10 = summary(10, 'parley-unlimited')?.added;
  const limitsCost =
    known(parley10?.p50) && known(unlimited10?.p50) ? round(parley10.p50 - unlimited10.p50) : undefined;
  atMost('cost of limits, per turn (added TTFT p50, 10 streams, parley-openai − parley-unlimited)', limitsCost, 'ms', [
    { value: LIMITS_MS_PER_TURN },
  ]);
  // Guardrails, on and off in the same run: the same route and limits with a project whose guardrails are off.
  // Measured on the first frame (added TTFT), where the input checks and the output guard's first hold-back fall.
  const unguarded10 = summary(10, 'parley-unguarded')?.added;
  const guardrailsCost =
    known(parley10?.p50) && known(unguarded10?.p50) ? round(parley10.p50 - unguarded10.p50) : undefined;
  atMost(
    'cost of guardrails, first frame (added TTFT p50, 10 streams, parley-openai − parley-unguarded)',
    guardrailsCost,
    'ms',
    [{ value: GUARDRAILS_MS_PER_FRAME }],
  );
  return lines;
}

/**
 * The markdown of docs/benchmarks.md (bench/results/quick.md for a `--quick` run).
 * @example writeFileSync('docs/benchmarks.md', renderReport(report));
 */
export function renderReport(r: BenchReport): string {
  const status = (line: BudgetLine) =>
    line.measured === undefined
      ? 'not measured'
      : line.met
        ? 'met'
        : `**not met**${line.missed ? ` (${line.missed.join(', ')})` : ''}`;
  const at10 = (target: string) =>
    r.summaries.find((s) => s.concurrency === 10 && s.mode === JUDGED_MODE && s.target === target);
  const parley = at10('parley-openai');
  const floor = at10('floor-chain');
  const proxy = at10('floor-proxy');
  const pair = at10('floor-pair');
  // What Parley's own code adds: its added time minus the bare chain's, in the same run.
  const ownP50 = round((parley?.added.p50 ?? NaN) - (floor?.added.p50 ?? NaN));
  const ownP99 = round((parley?.added.p99 ?? NaN) - (floor?.added.p99 ?? NaN));
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\`${r.quick ? ' --quick (harness check only; not a measurement)' : ''} on ${r.date}.`,
    `Machine: ${r.machine.cpus} × ${r.machine.cpu}, ${r.machine.memoryGb} GiB, Node ${r.machine.node}.`,
    `Versions: Parley ${r.versions.parley}, Portkey gateway ${r.versions.portkey}. Upstream: llm-sim, ${r.settings.tokensPerReply} tokens per reply at 50 tokens/s,`,
    `first token after 20 ms. ${r.settings.repeats} ${r.settings.repeats === 1 ? 'repeat' : 'repeats'} in random order after a warm-up; "added" is each percentile minus`,
    'the same percentile straight to llm-sim in the same repeat (median over repeats). The load generator is a',
    'separate process with keep-alive sockets and Nagle off.',
    '',
    '## The performance budget (docs/architecture.md)',
    '',
    'Every line is judged against references measured in this run: floor-chain (the three processes and the',
    "same NATS messages with none of Parley's code, below) and Portkey. Latency lines are judged on smooth",
    'streams; the 10-stream lines on the stateless route, parley-openai, which does the work floor-chain does.',
    '',
    '| line | budget | measured | |',
    '|---|---|---|---|',
    ...budgetLines(r).map((l) => `| ${l.line} | ${l.budget} | ${l.measured ?? '–'} | ${status(l)} |`),
    '',
    'Resident memory (RSS) includes the pages of the Node executable, about 50 MB that every Node process on the',
    'host shares; "private" is what only that service holds. Resident memory is judged against the bare',
    'floor-chain process of the same role (bench/floor.ts, with no framework), measured at the same point, after',
    "the warm-up. Limits are measured on and off: parley-openai's key counts against limits on every turn",
    "(requests and tokens per minute and per day, and a stream slot, in Redis), parley-unlimited's project has",
    "none. Guardrails likewise: parley-openai's project has the default guardrails, parley-unguarded's (same",
    'limits) has every check off.',
    '',
    '| process | resident MB | private MB | peak resident MB |',
    '|---|---|---|---|',
    ...Object.entries(r.memoryMb.steady).map(
      ([name, mb]) =>
        `| ${name} | ${mb} | ${r.memoryMb.steadyPrivate[name] ?? '–'} | ${r.memoryMb.peak[name] ?? '–'} |`,
    ),
    ...Object.entries(r.memoryMb.floor).map(([name, mb]) => `| ${name} | ${mb} | – | – |`),
    '',
    '## The floor of the architecture',
    '',
    'The `floor-*` targets (bench/floor.ts) run in the same repeats against the same llm-sim, with none of',
    "Parley's code: no NestJS, Express, validation, tracing, metrics or JetStream. `floor-proxy` is a bare",
    '`node:http` proxy: one more process between client and model, the least any gateway adds. `floor-chain` is',
    "Parley's shape: three bare processes (gateway, responder, inference) and the same NATS messages per turn.",
    '`floor-pair` is a bare gateway and one worker (responder and inference in one process) behind one NATS hop.',
    'What Parley adds above `floor-chain` is its own work. At 10 streams, smooth:',
    '',
    '| | added TTFT p50 | p99 |',
    '|---|---|---|',
    `| floor-proxy | ${proxy?.added.p50} ms | ${proxy?.added.p99} ms |`,
    `| floor-pair | ${pair?.added.p50} ms | ${pair?.added.p99} ms |`,
    `| floor-chain | ${floor?.added.p50} ms | ${floor?.added.p99} ms |`,
    `| parley-openai | ${parley?.added.p50} ms | ${parley?.added.p99} ms |`,
    `| Parley's own code (parley-openai − floor-chain) | ${ownP50} ms | ${ownP99} ms |`,
    '',
    '## Streaming: added time to first token and token gaps (ms)',
    '',
    '| mode | streams | target | TTFT p50 | p90 | p99 | gap p99 | errors | lost/reordered | requests |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.summaries.map(
      (s) =>
        `| ${s.mode} | ${s.concurrency} | ${s.target} | ${s.added.p50} | ${s.added.p90} | ${s.added.p99} | ${s.addedGapP99} | ${s.errors} | ${s.lost} | ${s.requests} |`,
    ),
    '',
    '## Non-streaming throughput at saturation',
    '',
    '| target | requests/s |',
    '|---|---|',
    ...Object.entries(r.throughputRps).map(([t, rps]) => `| ${t} | ${rps} |`),
    '',
    `CPU seconds per 1,000 Parley turns (gateway + responder + inference): ${r.cpuSecondsPer1000Turns}; per 1,000`,
    `turns of floor-chain (its three bare processes): ${r.floorChainCpuSecondsPer1000Turns}.`,
    '',
  ];
  return lines.join('\n');
}
