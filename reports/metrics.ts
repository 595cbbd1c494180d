// Each metric's direction (is lower or higher better?) and kind (how noise is judged), in ONE table,
// derived from the record's `unit` and the metric's name. A suite can override any metric through
// Suite.metrics (see reports/README.md); the first matching rule below wins otherwise.
import { getSuite } from '../suites/index.ts';
import type { Direction, MetricInfo } from '../suites/interface.ts';

interface Rule {
  rule: string;
  unit?: RegExp;
  /** Matched against the metric name's tokens (split on _ - . /). */
  tokens?: string[];
  name?: RegExp;
  info: MetricInfo;
}

/** The table. Order matters: specific names first, then units, then generic names. */
export const METRIC_RULES: Rule[] = [
  { rule: "the harness's per-unit wall time, training time and process-wide peaks", name: /^(wall_time|elapsed_s|train_seconds|peak_rss_bytes|peak_tensor_bytes)$/, info: { direction: 'lower', kind: 'bookkeeping' } },
  { rule: 'parameter / step counts', name: /(^|_)(params|parameters|steps?|samples|count)$/, info: { direction: 'none', kind: 'count' } },
  { rule: 'reference baselines (not a property of the architecture)', tokens: ['unigram', 'chance', 'shortcut', 'baseline', 'analytic', 'expected'], info: { direction: 'none', kind: 'info' } },
  { rule: 'spread / error / outliers: lower is better', tokens: ['std', 'spread', 'gap', 'range', 'error', 'outlier', 'outliers', 'maxdiff', 'max_abs', 'mad'], info: { direction: 'lower', kind: 'quality' } },
  { rule: 'unit count / step', unit: /^(count|step|steps|items)$/, info: { direction: 'none', kind: 'count' } },
  { rule: 'bits / nats / loss units: lower is better', unit: /^(bpb|bits|nats|loss|ppl|perplexity)$/i, info: { direction: 'lower', kind: 'quality' } },
  { rule: 'bpb / loss / perplexity names: lower is better', tokens: ['bpb', 'loss', 'ppl', 'perplexity', 'nll', 'fid', 'distance'], info: { direction: 'lower', kind: 'quality' } },
  { rule: 'utilisation: higher is better', tokens: ['mfu', 'gflops', 'flops'], info: { direction: 'higher', kind: 'throughput' } },
  { rule: 'accuracy names: higher is better', tokens: ['accuracy', 'acc', 'recall', 'exact', 'match', 'f1', 'resolution', 'effective'], info: { direction: 'higher', kind: 'quality' } },
  { rule: 'time units: lower is better', unit: /^(s|ms|us|ns|sec|seconds)$/i, info: { direction: 'lower', kind: 'latency' } },
  { rule: 'byte units: lower is better', unit: /^(bytes|b|kib|mib|gib)$/i, info: { direction: 'lower', kind: 'memory' } },
  { rule: 'rates: higher is better', unit: /\/s$/i, info: { direction: 'higher', kind: 'throughput' } },
  { rule: 'latency / memory names', tokens: ['latency', 'seconds', 'time'], info: { direction: 'lower', kind: 'latency' } },
  { rule: 'memory names', tokens: ['bytes', 'memory', 'rss'], info: { direction: 'lower', kind: 'memory' } },
  { rule: 'throughput names', tokens: ['throughput', 'per_s', 'tokens_per_s'], info: { direction: 'higher', kind: 'throughput' } },
  { rule: 'fraction / percent units: higher is better', unit: /^(fraction|%|percent)$/i, info: { direction: 'higher', kind: 'quality' } },
];

const DEFAULT: MetricInfo = { direction: 'none', kind: 'info', rule: 'no rule matched: informational' };

function tokensOf(name: string): Set<string> {
  const parts = name.toLowerCase().split(/[_\-./\s]+/).filter(Boolean);
  const out = new Set(parts);
  for (let i = 0; i + 1 < parts.length; i++) out.add(`${parts[i]}_${parts[i + 1]}`);
  return out;
}

/** Direction and kind from the name and unit alone (no suite override). */
export function inferMetric(metric: string, unit: string): MetricInfo {
  const toks = tokensOf(metric);
  for (const r of METRIC_RULES) {
    if (r.unit && !r.unit.test(unit)) continue;
    if (r.name && !r.name.test(metric)) continue;
    if (r.tokens && !r.tokens.some((t) => toks.has(t))) continue;
    if (!r.unit && !r.name && !r.tokens) continue;
    return { ...r.info, rule: r.rule };
  }
  return { ...DEFAULT };
}

/** Direction and kind, with the suite's own declaration (Suite.metrics[metric]) taking precedence. */
export function metricInfo(suite: string | undefined, metric: string, unit: string): MetricInfo {
  const inferred = inferMetric(metric, unit);
  const declared = suite ? getSuite(suite)?.metrics?.[metric] : undefined;
  if (!declared) return inferred;
  return { ...inferred, ...declared, rule: `declared by suite ${suite}` };
}

/** Metrics the harness adds to every unit (runner.ts; train_seconds where the unit used its text model): tabulated, never drawn or ranked. */
export const HARNESS_METRICS = new Set(['nonembedding_params', 'wall_time', 'peak_rss_bytes', 'peak_tensor_bytes', 'diverged', 'train_seconds']);

/** Tail percentiles (decode_latency_p99): tabulated beside their median, not drawn or ranked. */
export const isTail = (metric: string): boolean => /_p\d+$/.test(metric);

/** True when `a` is better than `b` under the direction (strictly). */
export function better(direction: Direction, a: number, b: number): boolean {
  return direction === 'lower' ? a < b : direction === 'higher' ? a > b : false;
}

/** Whether a metric counts towards a suite's rank. */
export function isHeadline(info: MetricInfo): boolean {
  if (info.headline !== undefined) return info.headline && info.direction !== 'none';
  return info.kind === 'quality' && info.direction !== 'none';
}
