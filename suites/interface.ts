// The suite contract: what a suite receives (SuiteContext), returns (Measurement) and declares for reports
// (figures, metric kinds). Suites and reports both import it; a suite sees a model only through LanguageModel.
import type { ArchitectureSpec } from '../architectures/interface.ts';
import type { ModelCache } from '../harness/cache.ts';
import type { Corpus } from '../harness/data/corpus.ts';
import type { PeakMeter } from '../harness/measure.ts';
import type { MatchedConfig, TrainedModel } from '../harness/models.ts';
import type { Preset } from '../harness/presets.ts';
import type { Dims, ResultRecord } from '../harness/store.ts';

export interface SuiteContext {
  preset: Preset;
  seed: number;
  spec: ArchitectureSpec;
  matched: MatchedConfig;
  corpus: Corpus;
  cache: ModelCache;
  meter: PeakMeter;
  /** The (architecture, preset, seed) text model: trained once, then served from the cache (asynchronous, as all training is). */
  textModel(): Promise<TrainedModel>;
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
  /**
   * Per-preset settings (plain data, keyed by preset name), written into the manifest. A suite that
   * calibrated task budgets attaches its dated history (its calibration.json) to each preset's settings as
   * `calibration` (suites/tasks/calibration-history.ts).
   */
  settings?: Record<string, Record<string, unknown>>;
  run(ctx: SuiteContext): Measurement[] | Promise<Measurement[]>;
  /**
   * Optional: the suite's own figures, as Vega-Lite specs built from its records (only this suite's are
   * passed). Metrics a figure lists in `covers` get no generic figure. Contract: reports/README.md.
   */
  figures?(records: ResultRecord[], kit: FigureKit): FigureSpec[];
  /** Optional: per-metric direction / kind / headline, overriding the inference in reports/metrics.ts. */
  metrics?: Record<string, Partial<MetricInfo>>;
  /**
   * Optional: why the suite's units run one at a time with no other unit beside them, even with --jobs N:
   * 'timing', its headline figures are times or rates of the machine (latency, throughput); 'cores', most
   * of a unit is data-parallel training, which already keeps every core busy (on 2 cores at small, one
   * two-thread text model trains at 14,000 tokens/s, two one-thread ones at 7,200 + 5,700). The units of
   * other suites (decoding, sampling, small models: work on one thread) run N at a time.
   */
  alone?: 'timing' | 'cores';
  /** Optional: methods the suite compares within each architecture (`archbench analyze SUITE RUN_DIR`). */
  methods?: MethodComparisons;
}

/** Methods compared within each architecture along one dims axis, paired over seeds. */
export interface MethodComparisons {
  /** The dims key whose values are the methods (e.g. 'method', 'stage'). */
  axis: string;
  /** The metric the pairs compare, under its direction. */
  metric: string;
  /** [a, b]: is a better than b? */
  pairs: [string, string][];
  /** Further metrics tabulated by the same axis. */
  also?: string[];
}

export type Direction = 'lower' | 'higher' | 'none';

/**
 * quality: accuracy / bpb type, judged against the seeds' intervals;
 * latency, memory, throughput: judged against a relative threshold;
 * count, info: informational (never a regression, never ranked);
 * bookkeeping: the harness's own timings (wall time), shown but never judged.
 */
export type MetricKind = 'quality' | 'latency' | 'memory' | 'throughput' | 'count' | 'info' | 'bookkeeping';

export interface MetricInfo {
  direction: Direction;
  kind: MetricKind;
  /** Counts towards the suite's rank (default: quality metrics with a direction). */
  headline?: boolean;
  /** Which rule decided (for --json and the docs). */
  rule?: string;
}

/** A Vega-Lite spec (plain JSON, data inline as `data.values`). */
export type VegaLiteSpec = Record<string, unknown>;

/** One figure a suite declares. Saved as <suite>-<name>.vl.json / .svg / .png under DIR/report/figures/. */
export interface FigureSpec {
  /** File-name stem, [a-z0-9_-]+ (other characters are replaced), unique within the suite. */
  name: string;
  /** Shown above the figure in the leaderboard (escaped). */
  title: string;
  caption?: string;
  /** Metrics this figure covers: the generic fallback figure for each of them is then not drawn. */
  covers?: string[];
  /** The Vega-Lite spec; data inline. The shared theme (fonts, colours per architecture) is merged in. */
  vegaLite: VegaLiteSpec;
  /** Files written beside the figure (DIR/report/figures/<suite>-<name>-<file name>) and linked under it, e.g. WAV audio. */
  files?: { name: string; label: string; bytes: Uint8Array }[];
}

export interface BarOptions {
  title?: string;
  /** Only records whose dims match these values. */
  where?: Record<string, string | number | boolean>;
}

export interface LineOptions extends BarOptions {
  /** Log scales on both axes (default: for latency / memory / throughput metrics spanning >= 4x). */
  logLog?: boolean;
  /** Power-law fit lines per architecture (default: with logLog). */
  fit?: boolean;
}

export interface HeatmapOptions extends BarOptions {
  /** Colour scheme (vega scheme name); default 'viridis'. */
  scheme?: string;
}

/** Builders a suite's figures() can use, so declared figures look like the generic ones. */
export interface FigureKit {
  /** Mean with 95% interval per architecture (over seeds, or the record's ci95 for one seed). */
  bars(records: ResultRecord[], metric: string, opts?: BarOptions): FigureSpec;
  /** Metric against one dims axis, one line per architecture with its interval band. */
  lines(records: ResultRecord[], metric: string, axis: string, opts?: LineOptions): FigureSpec;
  /** Metric over two dims axes (x, y), one panel per architecture. */
  heatmap(records: ResultRecord[], metric: string, x: string, y: string, opts?: HeatmapOptions): FigureSpec;
}
