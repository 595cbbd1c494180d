// The efficiency suite's settings: what one unit measures (lengths, batch sizes, probes), how long it
// times each point, its time and memory budgets and the correctness gate, per preset.

interface TimingSettings {
  /** tinybench warm-up calls, made only when one run takes at most warmupMaxS (a profiled run always precedes). */
  warmup: number;
  warmupMaxS: number;
  minSamples: number;
  maxSamples: number;
  /** Seconds of timed samples aimed for per point (the sample count follows from one run's time). */
  targetS: number;
}

export interface EfficiencySettings {
  /** Context lengths of the sweep (prefill length; decode is timed from there). */
  lengths: number[];
  /** Batch sizes: the first at every length, the others at batchLengths only. */
  batches: number[];
  batchLengths: number[];
  /** Short prefill lengths measured (memory, time) before the sweep, to extrapolate from. */
  probeLengths: number[];
  prefill: TimingSettings;
  /**
   * Decode steps run once per batch size before the sweep, at the first probe length: at least
   * globalWarmup steps and for at least globalWarmupS seconds (V8 optimises the JS around the kernels
   * only after many calls; without it the first points' step latencies are inflated several-fold).
   */
  decode: TimingSettings & { globalWarmup: number; globalWarmupS: number };
  train: TimingSettings & { lengths: number[]; batch: number; probeLengths: number[] };
  /** Seconds per phase (what a phase leaves unused carries to the next) and for the whole unit. */
  budgetS: { sweep: number; batch: number; train: number; unit: number };
  /** Fraction of the free heap/system memory a point may take; budgetBytes fixes the budget instead. */
  memory: { safety: number; budgetBytes?: number };
  /** Short-input check: prefill (all logits and last only) + steps must match forward within tolerance (relative to max |logit|). */
  gate: { length: number; steps: number; batch: number; tolerance: number };
}

const timing = (warmup: number, warmupMaxS: number, minSamples: number, maxSamples: number, targetS: number): TimingSettings =>
  ({ warmup, warmupMaxS, minSamples, maxSamples, targetS });

export const EFFICIENCY_SETTINGS: Record<string, EfficiencySettings> = {
  tiny: {
    lengths: [16, 32, 64], batches: [1, 2], batchLengths: [16, 32], probeLengths: [4, 8, 12],
    prefill: timing(1, 1, 2, 3, 0.05), decode: { ...timing(1, 1, 3, 5, 0.05), globalWarmup: 5, globalWarmupS: 0 },
    train: { ...timing(1, 1, 2, 3, 0.05), lengths: [8, 16, 32], batch: 2, probeLengths: [4, 6] },
    budgetS: { sweep: 30, batch: 10, train: 15, unit: 60 }, memory: { safety: 0.75 },
    gate: { length: 12, steps: 4, batch: 2, tolerance: 1e-3 },
  },
  small: {
    lengths: [256, 512, 1024, 2048, 4096, 8192], batches: [1, 4], batchLengths: [256, 512], probeLengths: [32, 64, 128],
    prefill: timing(1, 0.5, 2, 8, 3), decode: { ...timing(5, 1, 8, 40, 1), globalWarmup: 40, globalWarmupS: 2 },
    train: { ...timing(1, 0.5, 2, 6, 2), lengths: [64, 128, 256, 512], batch: 1, probeLengths: [16, 32] },
    budgetS: { sweep: 58, batch: 10, train: 12, unit: 84 }, memory: { safety: 0.75 },
    gate: { length: 16, steps: 4, batch: 2, tolerance: 1e-3 },
  },
  paper: {
    lengths: [1024, 2048, 4096, 8192, 16384, 32768], batches: [1, 8], batchLengths: [2048, 8192], probeLengths: [128, 256, 512],
    prefill: timing(1, 1, 3, 10, 10), decode: { ...timing(5, 1, 10, 64, 3), globalWarmup: 40, globalWarmupS: 3 },
    train: { ...timing(1, 1, 3, 10, 10), lengths: [512, 1024, 2048, 4096], batch: 4, probeLengths: [64, 128] },
    // 18 units (3 seeds x 6 architectures) in an hour of the paper preset's night (harness/presets.ts)
    budgetS: { sweep: 100, batch: 40, train: 60, unit: 200 }, memory: { safety: 0.75 },
    gate: { length: 32, steps: 4, batch: 2, tolerance: 1e-3 },
  },
  // the smoke preset (harness/presets.ts): a 16 s unit, lengths to 8T
  smoke: {
    lengths: [128, 256, 512, 1024], batches: [1, 4], batchLengths: [128], probeLengths: [16, 32, 64],
    prefill: timing(1, 0.5, 2, 5, 0.5), decode: { ...timing(2, 0.5, 4, 16, 0.3), globalWarmup: 20, globalWarmupS: 0.5 },
    train: { ...timing(1, 0.5, 2, 4, 0.5), lengths: [64, 128], batch: 2, probeLengths: [16, 32] },
    budgetS: { sweep: 8, batch: 3, train: 4, unit: 16 }, memory: { safety: 0.75 },
    gate: { length: 16, steps: 4, batch: 2, tolerance: 1e-3 },
  },
};
