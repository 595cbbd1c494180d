// The contract between suites and the harness. A suite sees a model only through LanguageModel.
import type { ArchitectureSpec } from '../architectures/interface.ts';
import type { ModelCache } from '../harness/cache.ts';
import type { Corpus } from '../harness/data/corpus.ts';
import type { PeakMeter } from '../harness/measure.ts';
import type { MatchedConfig, TrainedModel } from '../harness/models.ts';
import type { Preset } from '../harness/presets.ts';
import type { Dims, ResultRecord } from '../harness/store.ts';
import type { FigureKit, FigureSpec, MetricInfo } from '../reports/types.ts';

export interface SuiteContext {
  preset: Preset;
  seed: number;
  spec: ArchitectureSpec;
  matched: MatchedConfig;
  corpus: Corpus;
  cache: ModelCache;
  meter: PeakMeter;
  /** The (architecture, preset, seed) text model: trained once, then served from the cache. */
  textModel(): TrainedModel;
}

/** What a suite reports; the harness adds suite, arch, seed, preset, params, backend, times. */
export interface Measurement {
  metric: string;
  value: number;
  unit: string;
  dims?: Dims;
  ci95?: [number, number] | null;
  flag?: string;
  note?: string;
}

export interface Suite {
  name: string;
  description: string;
  /** Per-preset settings (plain data, keyed by preset name), written into the manifest; calibration figures live here. */
  settings?: Record<string, Record<string, unknown>>;
  run(ctx: SuiteContext): Measurement[] | Promise<Measurement[]>;
  /**
   * Optional: the suite's own figures, as Vega-Lite specs built from its records (only this suite's are
   * passed). Metrics a figure lists in `covers` get no generic figure. Contract: reports/README.md.
   */
  figures?(records: ResultRecord[], kit: FigureKit): FigureSpec[];
  /** Optional: per-metric direction / kind / headline, overriding the inference in reports/metrics.ts. */
  metrics?: Record<string, Partial<MetricInfo>>;
}
