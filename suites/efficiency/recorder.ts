// What the phases of one efficiency unit share: the Recorder (the unit's measurements, with the timing,
// skipped and failed shapes), the phase Clock, and the Unit they run on; plus the notes they share.
import type { LanguageModel } from '../../architectures/interface.ts';
import type { Dims } from '../../harness/store.ts';
import type { Measurement, SuiteContext } from '../interface.ts';
import { now } from './calls.ts';
import type { Timing } from './measure.ts';
import type { EfficiencySettings } from './settings.ts';

export class Recorder {
  readonly out: Measurement[] = [];
  add(metric: string, value: number, unit: string, dims: Dims, extra: { ci95?: [number, number] | null; flag?: string; note?: string } = {}): void {
    this.out.push({ metric, value, unit, dims, ...extra });
  }
  timing(metric: string, t: Timing, dims: Dims, note: string): void {
    const cov = t.coverage >= 0.95 ? '95%' : `${(t.coverage * 100).toFixed(0)}% (too few samples for 95%)`;
    this.add(metric, t.median, 's', dims, { ci95: t.ci95, note: `median of ${t.samples} samples after ${note}; interval: order statistics of the median, coverage ${cov}` });
    this.add(`${metric}_p75`, t.p75, 's', dims);
    this.add(`${metric}_p99`, t.p99, 's', dims);
    this.add('timing_samples', t.samples, 'count', { of: metric, ...dims });
    this.add('timing_rel_margin', t.rme, 'ratio', { of: metric, ...dims }, { note: 'relative margin of error of the mean (95%), tinybench' });
    this.add('timing_cpu_share', t.cpuShare, 'ratio', { of: metric, ...dims }, {
      note: 'process CPU time / wall time over the timed calls (warm-up included); the wasm backend is single-threaded, so well below 1 means a loaded machine inflated these latencies',
    });
  }
  skip(metrics: [string, string][], dims: Dims, why: string): void {
    for (const [m, unit] of metrics) this.add(m, NaN, unit, dims, { flag: 'skipped', note: why });
  }
  fail(metrics: [string, string][], dims: Dims, why: string): void {
    for (const [m, unit] of metrics) this.add(m, NaN, unit, dims, { flag: 'failed', note: why });
  }
}

/** Phase clock: a budget in seconds plus what earlier phases left, never past the unit's own deadline. */
export class Clock {
  private end = 0;
  private carry = 0;
  constructor(private readonly unitEnd: number) {}
  start(budgetS: number): void {
    this.end = Math.min(now() + budgetS + this.carry, this.unitEnd);
  }
  remaining(): number {
    return this.end - now();
  }
  finish(): void {
    this.carry = Math.max(0, this.remaining());
  }
}

/** One unit: the model under measurement and where its phases write. */
export interface Unit {
  model: LanguageModel;
  ctx: SuiteContext;
  settings: EfficiencySettings;
  rec: Recorder;
  clock: Clock;
  backend: string;
  /** Log prefix ('efficiency retnet'). */
  label: string;
  /** Bytes of the model's parameters (every peak includes them). */
  paramBytes: number;
}

export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 300);

export function rssNote(backend: string): string {
  return backend.startsWith('wasm') // wasm and wasm+openblas
    ? 'process RSS sampled after each call; the wasm heap never shrinks, so this includes the high-water mark of earlier points'
    : 'process RSS sampled after each call';
}
