/**
 * The drift rules (group `parley-drift` of docker/prometheus/alerts.yml, which the k8s PrometheusRule carries
 * too) under `promtool test rules`: a week of steady traffic, then two hours in which one model alias drifts
 * on every signal while another stays steady. Every drift alert must fire for the drifting alias only, and
 * none before the drift.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoPath } from './paths.js';

const run = promisify(execFile);
/** Samples every 5 minutes: a week is 2016 steps, the drift the 24 steps (two hours) after it. */
const WEEK_STEPS = 2016;
const DRIFT_STEPS = 24;
const PROMTOOL_TIMEOUT_MS = 120_000;

const DRIFT_ALERTS = [
  'ParleyDriftFeedbackDown',
  'ParleyDriftReplyLength',
  'ParleyDriftEmptyReplies',
  'ParleyDriftFirstToken',
  'ParleyDriftErrorRate',
  'ParleyDriftTokensPerTurn',
];

/** A counter growing by `before` per step for a week, then by `after` per step (promtool's series notation). */
function counter(before: number, after = before): string {
  const atWeek = before * WEEK_STEPS;
  return `0+${String(before)}x${String(WEEK_STEPS)} ${String(atWeek + after)}+${String(after)}x${String(DRIFT_STEPS - 1)}`;
}

interface Signals {
  up: [number, number];
  down: [number, number];
  chars: [number, number];
  empty: [number, number];
  ok: [number, number];
  /** Observations per step in the first token buckets ≤0.5 s and ≤2 s (cumulative counts are built below). */
  fast: [number, number];
  slow: [number, number];
  errors: [number, number];
  done: [number, number];
  tokens: [number, number];
}

/** The input series of one model alias whose signals move from the first to the second value of each pair. */
function seriesOf(model: string, s: Signals, { retracted = false } = {}) {
  const m = `model="${model}"`;
  const series = [
    [`parley_feedback_total{${m},arm="a",target="a",rating="up"}`, counter(...s.up)],
    [`parley_feedback_total{${m},arm="a",target="a",rating="down"}`, counter(...s.down)],
    [`parley_reply_chars_sum{${m},arm="a"}`, counter(...s.chars)],
    [`parley_reply_chars_count{${m},arm="a"}`, counter(s.ok[0] + s.empty[0], s.ok[1] + s.empty[1])],
    [`parley_replies_total{${m},arm="a",kind="ok"}`, counter(...s.ok)],
    [`parley_time_to_first_token_seconds_bucket{${m},target="a",le="0.5"}`, counter(...s.fast)],
    [
      `parley_time_to_first_token_seconds_bucket{${m},target="a",le="2"}`,
      counter(s.fast[0] + s.slow[0], s.fast[1] + s.slow[1]),
    ],
    [
      `parley_time_to_first_token_seconds_bucket{${m},target="a",le="+Inf"}`,
      counter(s.fast[0] + s.slow[0], s.fast[1] + s.slow[1]),
    ],
    [`parley_arm_turns_total{${m},arm="a",target="a",outcome="done"}`, counter(...s.done)],
    [`parley_project_tokens_total{${m},project="default",kind="prompt"}`, counter(...s.tokens)],
  ];
  // Series that only exist once something happened: a steady alias has none of them.
  if (s.empty[1] > 0) series.push([`parley_replies_total{${m},arm="a",kind="empty"}`, counter(...s.empty)]);
  if (s.errors[1] > 0)
    series.push([`parley_arm_turns_total{${m},arm="a",target="none",outcome="error"}`, counter(...s.errors)]);
  // A changed rating: given again as down, retracted as up (the net ratings stay what the others say).
  if (retracted) series.push([`parley_feedback_retracted_total{${m},arm="a",target="a",rating="up"}`, counter(1)]);
  return series.map(([name, values]) => ({ series: name, values }));
}

const steady: Signals = {
  up: [9, 9],
  down: [2, 2],
  chars: [2000, 2000],
  empty: [0, 0],
  ok: [10, 10],
  fast: [10, 10],
  slow: [0, 0],
  errors: [0, 0],
  done: [10, 10],
  tokens: [500, 500],
};
// Two hours in which ratings sour, replies grow fourfold, half come back empty, the first token slows
// past 0.5 s, three turns in ten fail and each turn takes three times the tokens.
const drifting: Signals = {
  up: [8, 3],
  down: [2, 7],
  chars: [2000, 4000],
  empty: [0, 5],
  ok: [10, 5],
  fast: [10, 0],
  slow: [0, 10],
  errors: [0, 3],
  done: [10, 7],
  tokens: [500, 1500],
};

const ALERTS_FILE = repoPath('docker/prometheus/alerts.yml');

/** An alert's summary as it reads for `model`. */
function summaryFor(alertname: string, model: string): string {
  const file = parse(readFileSync(ALERTS_FILE, 'utf8')) as {
    groups: { rules: { alert?: string; annotations?: { summary: string } }[] }[];
  };
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.alert === alertname);
  return rule!.annotations!.summary.replace('{{ $labels.model }}', model);
}

describe('deploy - drift rules', () => {
  it('deploy - the drift alerts fire on an alias that drifts, and stay quiet on a steady one and before the drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-drift-'));
    try {
      const driftAt = '7d2h';
      const tests = {
        rule_files: [ALERTS_FILE],
        evaluation_interval: '5m',
        tests: [
          {
            interval: '5m',
            input_series: [...seriesOf('steady', steady, { retracted: true }), ...seriesOf('drifting', drifting)],
            alert_rule_test: DRIFT_ALERTS.flatMap((alertname) => [
              { eval_time: '6d', alertname, exp_alerts: [] },
              {
                eval_time: driftAt,
                alertname,
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warn', model: 'drifting' },
                    exp_annotations: { summary: summaryFor(alertname, 'drifting') },
                  },
                ],
              },
            ]),
            // The recorded baselines are what the dashboard shows beside the hour.
            promql_expr_test: [
              {
                expr: 'parley:feedback_up_ratio:1h{model="steady"}',
                eval_time: driftAt,
                exp_samples: [{ labels: 'parley:feedback_up_ratio:1h{model="steady"}', value: 0.8 }],
              },
              {
                expr: 'parley:feedback_up_ratio:1h{model="drifting"}',
                eval_time: driftAt,
                exp_samples: [{ labels: 'parley:feedback_up_ratio:1h{model="drifting"}', value: 0.3 }],
              },
            ],
          },
        ],
      };
      const file = join(dir, 'drift.test.yml');
      writeFileSync(file, stringify(tests));
      const result = await run('promtool', ['test', 'rules', file], { timeout: PROMTOOL_TIMEOUT_MS }).catch(
        (error: { stdout?: string; stderr?: string; code?: number }) => error,
      );
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      expect(output).toContain('SUCCESS');
      expect('code' in result ? result.code : 0, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
