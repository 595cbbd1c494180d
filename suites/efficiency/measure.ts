// Measurement helpers of the efficiency suite: timing with tinybench, memory estimates and budgets, a
// linear fit, and where one analytic cost falls below another.
// Nothing here names an architecture.
import { constrainedMemory, memoryUsage } from 'node:process';
import { freemem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { nvidiaGpus } from '../../harness/measure.ts';

export interface Timing {
  /** Seconds. */
  median: number;
  p75: number;
  p99: number;
  mean: number;
  /** Relative margin of error of the mean (95%), as a fraction. */
  rme: number;
  samples: number;
  warmup: number;
  /** Distribution-free interval of the median (order statistics) and its actual coverage. */
  ci95: [number, number];
  coverage: number;
  /**
   * Process CPU time over wall time across the timed calls. The wasm backend runs on one thread, so a
   * share well below 1 means the process waited for a CPU (a loaded machine) and the latencies are inflated.
   */
  cpuShare: number;
}

/** log of n choose k. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * Interval of the median from order statistics: [x_(j), x_(n-j+1)] with the largest j whose
 * coverage 1 - 2 P(Bin(n, 1/2) < j) is still >= 95%; with too few samples (n < 6) the full range and
 * its coverage 1 - 2^(1-n).
 */
export function medianInterval(sorted: number[]): { ci95: [number, number]; coverage: number } {
  const n = sorted.length;
  if (n === 0) return { ci95: [NaN, NaN], coverage: 0 };
  const pmf = (k: number) => Math.exp(logChoose(n, k) - n * Math.LN2);
  let j = 1, below = pmf(0); // below = P(Bin(n, 1/2) < j)
  while (j + 1 <= (n + 1) / 2) {
    const next = below + pmf(j);
    if (1 - 2 * next < 0.95) break;
    below = next;
    j++;
  }
  const lo = sorted[j - 1]!, hi = sorted[n - j]!;
  return { ci95: [lo, hi], coverage: 1 - 2 * below };
}

/**
 * Time `fn` with tinybench: `warmup` untimed calls, then exactly `samples` timed calls. `fn` must force
 * completion itself (await data()) so asynchronous backends are timed honestly. `after` runs after every
 * call outside the timed region (e.g. to sample memory).
 */
export async function timeIt(fn: () => Promise<void>, opts: { warmup: number; samples: number; after?: () => void }): Promise<Timing> {
  const bench = new Bench({
    time: 0, iterations: opts.samples, warmup: opts.warmup > 0, warmupIterations: opts.warmup, warmupTime: 0,
    retainSamples: true, throws: true,
  });
  bench.add('point', fn, { afterEach: opts.after ? () => opts.after!() : undefined });
  const cpu0 = process.cpuUsage(), wall0 = performance.now();
  await bench.run();
  const cpu = process.cpuUsage(cpu0), wall = performance.now() - wall0;
  const cpuShare = wall > 0 ? (cpu.user + cpu.system) / 1000 / wall : NaN;
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`timing did not complete (${r.state})`);
  const lat = r.latency;
  const sorted = [...(lat.samples ?? [])].map((ms) => ms / 1000).sort((a, b) => a - b);
  const { ci95, coverage } = medianInterval(sorted);
  return {
    median: lat.p50 / 1000, p75: lat.p75 / 1000, p99: lat.p99 / 1000, mean: lat.mean / 1000,
    rme: lat.rme / 100, samples: lat.samplesCount, warmup: opts.warmup, ci95, coverage, cpuShare,
  };
}

/** How many timed samples fit in `targetS` at `perRunS` each, within [min, max]. */
export function sampleCount(perRunS: number, s: { minSamples: number; maxSamples: number; targetS: number }): number {
  const n = perRunS > 0 ? Math.floor(s.targetS / perRunS) : s.maxSamples;
  return Math.max(s.minSamples, Math.min(s.maxSamples, n));
}

/**
 * Extrapolates a cost (peak bytes, seconds) measured at smaller lengths to a larger one. Memory: the
 * larger of a quadratic through the last three points and a line through the last two (allocation sizes
 * are polynomials of degree <= 2 in the length for every mixer here; past points make it exact). Time:
 * a power law through the last two points, exponent clamped to [0, 2.5]. One point: quadratic scaling.
 */
export class Extrapolator {
  private readonly pts = new Map<number, number>();
  constructor(readonly kind: 'memory' | 'time') {}

  add(x: number, y: number): void {
    this.pts.set(x, Math.max(this.pts.get(x) ?? 0, y));
  }

  get size(): number {
    return this.pts.size;
  }

  /** Predicted cost at x, or null with no data. */
  predict(x: number): number | null {
    if (this.pts.has(x)) return this.pts.get(x)!;
    const all = [...this.pts].sort((a, b) => a[0] - b[0]);
    if (all.length === 0) return null;
    const below = all.filter((p) => p[0] < x);
    const use = (below.length ? below : all).slice(-3);
    const [x0, y0] = use.at(-1)!;
    if (use.length === 1) return x > x0 ? y0 * (x / x0) ** 2 : y0;
    const [x1, y1] = use.at(-2)!;
    if (this.kind === 'time') {
      const k = Math.min(2.5, Math.max(0, Math.log(Math.max(y0, 1e-12) / Math.max(y1, 1e-12)) / Math.log(x0 / x1)));
      return y0 * (x / x0) ** k;
    }
    const linear = y0 + ((y0 - y1) / (x0 - x1)) * (x - x0);
    let quad = linear;
    if (use.length === 3) {
      const [a, b, c] = use as [number, number][];
      const [xa, ya] = a!, [xb, yb] = b!, [xc, yc] = c!;
      quad = ya * ((x - xb) * (x - xc)) / ((xa - xb) * (xa - xc))
        + yb * ((x - xa) * (x - xc)) / ((xb - xa) * (xb - xc))
        + yc * ((x - xa) * (x - xb)) / ((xc - xa) * (xc - xb));
    }
    return Math.max(0, linear, quad, y0);
  }
}

/** WebAssembly memory is 32-bit: the wasm backend's heap (every tensor lives in it) cannot pass 4 GiB. */
export const WASM_HEAP_LIMIT = 4 * 1024 ** 3;

export interface MemoryBudget {
  bytes: number;
  why: string;
}

/**
 * Bytes a new allocation may take now: the smaller of what the backend's heap has left (wasm: 4 GiB minus
 * the live tensors) and what the machine (or the process's cgroup) has available, times `safety`.
 * `overrideBytes` replaces the computation (tests; a user's own limit).
 */
export function memoryBudget(backend: string, safety: number, overrideBytes?: number): MemoryBudget {
  if (overrideBytes !== undefined) return { bytes: overrideBytes, why: `configured budget ${mib(overrideBytes)}` };
  const parts: { bytes: number; why: string }[] = [];
  const live = tf.memory().numBytes;
  if (backend.startsWith('wasm')) parts.push({ bytes: WASM_HEAP_LIMIT - live, why: `wasm heap limit 4 GiB minus ${mib(live)} of live tensors` });
  if (backend === 'tensorflow' || backend === 'webgpu' || backend === 'webgl') {
    const gpu = gpuMemoryBytes();
    if (gpu > 0) parts.push({ bytes: gpu - live, why: `GPU memory ${mib(gpu)} (nvidia-smi) minus ${mib(live)} of live tensors` });
  }
  const avail = freemem();
  parts.push({ bytes: avail, why: `available system memory ${mib(avail)}` });
  const limit = constrainedMemory?.() ?? 0;
  if (limit > 0 && limit < Number.MAX_SAFE_INTEGER) {
    const rss = memoryUsage.rss();
    parts.push({ bytes: limit - rss, why: `process memory limit ${mib(limit)} minus RSS ${mib(rss)}` });
  }
  const tight = parts.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  return { bytes: Math.max(0, tight.bytes * safety), why: `${tight.why}, x ${safety} safety` };
}

let gpuBytes: number | undefined;
/** The smallest GPU's total memory from nvidia-smi (0 when there is none), asked once. */
function gpuMemoryBytes(): number {
  if (gpuBytes === undefined) {
    const totals = nvidiaGpus().map((g) => parseFloat(g['memory.total'] ?? '') * 1024 ** 2).filter((b) => b > 0);
    gpuBytes = totals.length ? Math.min(...totals) : 0;
  }
  return gpuBytes;
}

export const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(1)} MiB`;

/** Linear least squares y = a + b x (for state bytes: a constant plus bytes per token). */
export function linearFit(x: number[], y: number[]): { intercept: number; slope: number } {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/** Smallest integer T in [1, maxT] where f(T) < g(T) holds from T on (monotone search on doubling then bisection). */
export function analyticCrossover(f: (t: number) => number, g: (t: number) => number, maxT = 1 << 24): number | null {
  const cheaper = (t: number) => f(t) < g(t);
  if (cheaper(1)) return 1;
  let hi = 2;
  while (hi <= maxT && !cheaper(hi)) hi *= 2;
  if (hi > maxT) return null;
  let lo = hi / 2; // not cheaper at lo, cheaper at hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (cheaper(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
