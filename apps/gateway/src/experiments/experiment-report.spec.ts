import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '@parley/contracts';
import { armReport, compare } from './experiment-report.js';

let n = 0;
/** A usage record of one turn of `arm`, served by `target`. */
function turn(arm: string, fields: Partial<UsageRecord> = {}): UsageRecord {
  n += 1;
  return {
    turnId: `turn_${String(n).padStart(32, '0')}`,
    account: { project: 'default', keyId: 'k' },
    model: 'support',
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    estimated: false,
    outcome: 'done',
    at: new Date().toISOString(),
    arm,
    target: arm,
    conversationId: `conversation_${String(n).padStart(24, '0')}`,
    firstTokenMs: n,
    replyChars: 20,
    costUsd: 0.001,
    ...fields,
  };
}

/** `up` and `down` ratings of fresh turns of `arm`, and the records. */
function scripted(arm: string, up: number, down: number) {
  const records = Array.from({ length: up + down }, () => turn(arm));
  const ratings = new Map(records.map((r, i) => [r.turnId, { rating: i < up ? ('up' as const) : ('down' as const) }]));
  return { records, ratings };
}

describe('experiment report', () => {
  it('experiment report - 11 of 20 against 9 of 20 is no significant difference', () => {
    const a = scripted('a', 11, 9);
    const b = scripted('b', 9, 11);
    const arms = [armReport('a', a.records, a.ratings), armReport('b', b.records, b.ratings)];
    expect(arms[0]!.ratings.upRate.low).toBeCloseTo(0.3421, 3);
    expect(arms[0]!.ratings.upRate.high).toBeCloseTo(0.7418, 3);
    const [verdict] = compare(arms);
    expect(verdict!.significant).toBe(false);
    expect(verdict!.z).toBeCloseTo(0.6325, 3);
    expect(verdict!.pValue).toBeCloseTo(0.5271, 3);
  });

  it('experiment report - errors, fallbacks, tokens and cost per arm; unrated turns count as turns only', () => {
    const records = [
      turn('a'),
      turn('a', { target: 'openai' }),
      turn('a', { outcome: 'error', target: undefined, costUsd: undefined, firstTokenMs: undefined }),
      turn('a', { conversationId: undefined }),
    ];
    const report = armReport('a', records, new Map());
    expect(report).toMatchObject({
      arm: 'a',
      turns: 4,
      conversations: 3,
      ratings: { up: 0, down: 0, upRate: { rate: null, low: null, high: null } },
      errorRate: 0.25,
      servedBy: { a: 2, openai: 1 },
      tokens: { prompt: 40, completion: 20, perTurn: 15 },
    });
    expect(report.fallbackRate).toBeCloseTo(1 / 3, 10);
    expect(report.costUsd.total).toBeCloseTo(0.003, 12);
    expect(compare([report])).toEqual([]);
  });
});
