// Statistics shared by suites, reports and compare: intervals, flags, paired tests, power-law fits.
import { Rng } from './data/rng.ts';

/** Two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

/** Wilson score interval for k successes in n trials. */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Flag an accuracy that cannot discriminate: 'floor' when chance lies inside its 95% interval (or it is
 * below chance), 'ceiling' at 0.98 and above.
 */
export function accuracyFlag(k: number, n: number, chance: number): 'floor' | 'ceiling' | undefined {
  const acc = n ? k / n : 0;
  if (acc >= 0.98) return 'ceiling';
  const [lo] = wilson(k, n);
  if (lo <= chance) return 'floor';
  return undefined;
}

/** Two-sided t quantile at 95% for df degrees of freedom (table, then normal). */
export function t95(df: number): number {
  const table = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
    2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
  return df < table.length ? table[df]! : Z95 + 2.4 / df;
}

export function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Mean and t-based 95% interval; one value gives a zero-width interval. */
export function meanCi(xs: number[]): { mean: number; ci95: [number, number] } {
  const m = mean(xs);
  if (xs.length < 2) return { mean: m, ci95: [m, m] };
  const half = (t95(xs.length - 1) * std(xs)) / Math.sqrt(xs.length);
  return { mean: m, ci95: [m - half, m + half] };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Paired comparison of a and b (same seeds / same items, a[i] paired with b[i]): bootstrap 95% interval
 * of mean(a - b), deterministic. Verdict 'a' or 'b' (higher) when the interval excludes 0, else 'tied'.
 */
export function pairedBootstrap(a: number[], b: number[], resamples = 2000, seed = 0): { diff: number; ci95: [number, number]; verdict: 'a' | 'b' | 'tied' } {
  if (a.length !== b.length || a.length === 0) throw new Error('paired samples must have the same non-zero length');
  const d = a.map((x, i) => x - b[i]!);
  const rng = new Rng(seed);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[rng.int(d.length)]!;
    means.push(s / d.length);
  }
  const ci95: [number, number] = [quantile(means, 0.025), quantile(means, 0.975)];
  const verdict = ci95[0] > 0 ? 'a' : ci95[1] < 0 ? 'b' : 'tied';
  return { diff: mean(d), ci95, verdict };
}

/** Least-squares fit y = c * x^k on log-log axes: exponent k with its 95% interval, and R^2. */
export function powerLawFit(x: number[], y: number[]): { exponent: number; ci95: [number, number]; coefficient: number; r2: number; n: number } {
  const pts = x.map((xi, i) => [Math.log(xi), Math.log(y[i]!)] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  const n = pts.length;
  if (n < 2) throw new Error('a power-law fit needs at least two positive points');
  const mx = mean(pts.map((p) => p[0])), my = mean(pts.map((p) => p[1]));
  let sxx = 0, sxy = 0, syy = 0;
  for (const [a, b] of pts) {
    sxx += (a - mx) ** 2;
    sxy += (a - mx) * (b - my);
    syy += (b - my) ** 2;
  }
  const k = sxy / sxx;
  const intercept = my - k * mx;
  const sse = pts.reduce((s, [a, b]) => s + (b - intercept - k * a) ** 2, 0);
  const r2 = syy > 0 ? 1 - sse / syy : 1;
  const se = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : 0;
  const half = n > 2 ? t95(n - 2) * se : 0;
  return { exponent: k, ci95: [k - half, k + half], coefficient: Math.exp(intercept), r2, n };
}
