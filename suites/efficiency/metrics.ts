// The efficiency suite's metric names: what a context point and a training point record, what is fitted
// against length, which costs reports/crossovers.ts compares with the reference, how reports read each
// metric, and the suite's figures.
import type { ResultRecord } from '../../harness/store.ts';
import type { FigureKit, FigureSpec, MetricInfo } from '../interface.ts';

/** Metrics a context point produces (each gets a skipped record when the point is skipped). */
export const POINT_METRICS: [string, string][] = [
  ['prefill_latency', 's'], ['prefill_tokens_per_s', 'tokens/s'], ['prefill_peak_tensor_bytes', 'bytes'], ['prefill_peak_rss_bytes', 'bytes'],
  ['state_bytes', 'bytes'], ['decode_latency', 's'], ['decode_tokens_per_s', 'tokens/s'], ['decode_peak_tensor_bytes', 'bytes'],
  ['decode_peak_rss_bytes', 'bytes'],
];
export const TRAIN_METRICS: [string, string][] = [
  ['train_step_latency', 's'], ['train_tokens_per_s', 'tokens/s'], ['train_peak_tensor_bytes', 'bytes'], ['train_peak_rss_bytes', 'bytes'],
];
/** Fitted against context (per batch). */
export const CONTEXT_FITS = ['prefill_latency', 'prefill_tokens_per_s', 'decode_latency', 'decode_tokens_per_s', 'state_bytes',
  'prefill_peak_tensor_bytes', 'decode_peak_tensor_bytes'];
/** Fitted against the training sequence length (per batch). */
export const TRAIN_FITS = ['train_step_latency', 'train_tokens_per_s', 'train_peak_tensor_bytes'];
/** Costs (lower is cheaper) for which reports/crossovers.ts computes a crossover with the reference. */
export const CROSSOVER_METRICS = ['state_bytes', 'decode_latency', 'prefill_latency', 'decode_peak_tensor_bytes', 'prefill_peak_tensor_bytes',
  'train_step_latency', 'train_peak_tensor_bytes'];

const info = { direction: 'none', kind: 'info', headline: false } as const;

/** How reports read this suite's metrics (the name-based inference would rank diagnostics). */
export const EFFICIENCY_METRICS: Record<string, Partial<MetricInfo>> = {
  state_bytes: { direction: 'lower', kind: 'memory', headline: true },
  decode_tokens_per_s: { direction: 'higher', kind: 'throughput', headline: true },
  prefill_latency: { direction: 'lower', kind: 'latency', headline: true },
  decode_latency_growth: { direction: 'lower', kind: 'latency', headline: false },
  correctness_gate: info, gate_relative_logit_diff: info, power_law_exponent: info, power_law_r2: info, crossover_length: info,
  timing_cpu_share: info, machine_load_avg: info, state_bytes_analytic: info, state_bytes_over_analytic: info, state_bytes_after_decode_analytic: info,
  state_bytes_per_token_analytic: info, state_bytes_constant_analytic: info,
  state_bytes_per_token_ratio_vs_reference_analytic: info, state_bytes_max_over_min: info, timing_rel_margin: info,
  timing_samples: { direction: 'none', kind: 'count', headline: false }, param_bytes: info, cached_tensor_bytes: info, unit_leaked_tensor_bytes: info,
};

/** Cost curves against length (log-log, with power-law fits), one figure per metric. */
const FIGURES: { metric: string; axis: string; title: string }[] = [
  { metric: 'state_bytes', axis: 'context', title: 'Decoding state bytes against context length (batch 1)' },
  { metric: 'decode_latency', axis: 'context', title: 'Per-token decode latency against context length (batch 1)' },
  { metric: 'decode_tokens_per_s', axis: 'context', title: 'Decode throughput against context length (batch 1)' },
  { metric: 'prefill_latency', axis: 'context', title: 'Prefill latency against prompt length (batch 1)' },
  { metric: 'prefill_peak_tensor_bytes', axis: 'context', title: 'Peak tensor memory during prefill (batch 1)' },
  { metric: 'train_step_latency', axis: 'seq', title: 'Training step time against sequence length' },
];

export function efficiencyFigures(records: ResultRecord[], kit: FigureKit): FigureSpec[] {
  return FIGURES
    .filter((f) => records.some((r) => r.metric === f.metric && Number.isFinite(r.value)))
    .map((f) => ({ ...kit.lines(records, f.metric, f.axis, { title: f.title, logLog: true, fit: true, where: f.axis === 'context' ? { batch: 1 } : {} }), covers: [f.metric] }));
}
