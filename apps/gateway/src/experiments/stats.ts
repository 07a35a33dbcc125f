/**
 * The statistics of experiment reports, plain functions: the Wilson score interval of a proportion, the
 * two-sided two-proportion z-test with a pooled proportion, and quantiles. Chosen because they hold up with
 * the small counts ratings come in (Wilson stays inside [0, 1] and is not degenerate at 0 or n successes).
 */

/** The normal quantile of 97.5 %: a two-sided 95 % interval. */
export const Z_95 = 1.959963984540054;
/** The significance level of the report's verdict. */
export const ALPHA = 0.05;

/**
 * The share `successes / n` with its 95 % Wilson score interval; nulls when `n` is 0.
 * @example wilson(80, 100) // { rate: 0.8, low: 0.711, high: 0.866 } (rounded)
 */
export function wilson(
  successes: number,
  n: number,
  z = Z_95,
): { rate: number | null; low: number | null; high: number | null } {
  if (n === 0) return { rate: null, low: null, high: null };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Two-sided two-proportion z-test of `x1/n1` against `x2/n2` with the pooled proportion. Nulls when either
 * sample is empty or the pooled proportion is 0 or 1 (no variance: nothing to tell apart).
 * @example twoProportionZ(80, 100, 60, 100) // { difference: 0.2, z: 3.086, pValue: 0.002 } (rounded)
 */
export function twoProportionZ(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): { difference: number | null; z: number | null; pValue: number | null } {
  if (n1 === 0 || n2 === 0) return { difference: null, z: null, pValue: null };
  const difference = x1 / n1 - x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { difference, z: null, pValue: null };
  const z = difference / se;
  return { difference, z, pValue: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))) };
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26 for erf; error below 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * The `q` quantile of `values` (nearest rank); null for none.
 * @example quantile([5, 1, 3], 0.5) // 3
 */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
