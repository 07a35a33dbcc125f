import { describe, expect, it } from 'vitest';
import { costOf } from './arms.js';

describe('arms', () => {
  it('arms - cost is input, cached and output tokens at their prices per million', () => {
    const usage = { prompt_tokens: 400, completion_tokens: 100, total_tokens: 500 };
    expect(costOf({ input: 0.15, output: 0.6 }, usage)).toBeCloseTo(0.00012, 12);
    const cached = { ...usage, prompt_tokens_details: { cached_tokens: 300 } };
    // 100 uncached at 1, 300 cached at 0.5, 100 completion at 4.
    expect(costOf({ input: 1, output: 4, cached: 0.5 }, cached)).toBeCloseTo(0.00065, 12);
    // Without a cached price, cached tokens cost what input does.
    expect(costOf({ input: 1, output: 4 }, cached)).toBeCloseTo(0.0008, 12);
  });

  it('arms - no price or no usage is no cost', () => {
    expect(costOf(undefined, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })).toBeUndefined();
    expect(costOf({ input: 1, output: 1 }, undefined)).toBeUndefined();
  });
});
