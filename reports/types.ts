// Types shared by reports/ and the Suite interface (suites/interface.ts imports these as types only).
import type { ResultRecord } from '../harness/store.ts';

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
