import { describe, expect, it } from 'vitest';
import { normalCdf, quantile, twoProportionZ, wilson } from './stats.js';

describe('stats', () => {
  it('stats - the Wilson interval of 80 of 100 is [0.711, 0.867]', () => {
    const { rate, low, high } = wilson(80, 100);
    expect(rate).toBe(0.8);
    expect(low).toBeCloseTo(0.7112, 4);
    expect(high).toBeCloseTo(0.8666, 4);
  });

  it('stats - the Wilson interval stays inside [0, 1] at 0 and n successes, and is empty for no ratings', () => {
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(0, 10).high).toBeCloseTo(0.2775, 4);
    expect(wilson(10, 10).high).toBeCloseTo(1, 10);
    expect(wilson(0, 0)).toEqual({ rate: null, low: null, high: null });
  });

  it('stats - the two-proportion z-test tells 80/100 from 60/100 and not 52/100 from 48/100', () => {
    const apart = twoProportionZ(80, 100, 60, 100);
    expect(apart.difference).toBeCloseTo(0.2, 10);
    expect(apart.z).toBeCloseTo(3.0861, 3);
    expect(apart.pValue).toBeCloseTo(0.00203, 4);
    const close = twoProportionZ(52, 100, 48, 100);
    expect(close.pValue).toBeCloseTo(0.5716, 3);
    expect(twoProportionZ(5, 5, 5, 5).pValue).toBeNull();
    expect(twoProportionZ(1, 0, 5, 5).z).toBeNull();
  });

  it('stats - the normal distribution function and nearest-rank quantiles', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.95)).toBe(5);
    expect(quantile([], 0.5)).toBeNull();
  });
});
