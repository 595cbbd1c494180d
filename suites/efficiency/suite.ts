// Inference and training cost against context length, on the real inference path (prefill, then step
// with the model's own cache), from the seeded initialisation (no trained weights needed).
//
// Per architecture, context length T and batch B: prefill latency; per-token decode latency and decode
// throughput at T; the bytes the decoding state really holds (counted from its tensors, each buffer
// once) beside the model's analytic size (LanguageModel.analyticStateBytes); peak tf.memory().numBytes
// and peak RSS during prefill and decode; training step time and memory against sequence length. Then
// power-law fits of every metric against length, a linear fit of the state (constant + bytes per token),
// and crossovers against the reference architecture.
//
// Order of work in a unit: correctness gate (no speed is reported for a model whose prefill + step
// disagree with forward); the context sweep at the first batch size; the other batch sizes at a few
// lengths; the training sweep. Before each point the suite extrapolates its peak memory from the points
// already measured (and small probes) and skips, with a record saying why, what would not fit the
// backend's heap or the machine; it also skips what would overrun the phase's time budget.
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { bufferBytes, disposeReplaced, disposeState, stateBytes } from '../../architectures/decode-state.ts';
import type { DecodeState, LanguageModel } from '../../architectures/interface.ts';
import { withDryModel } from '../../architectures/dry-build.ts';
import { getArchitecture } from '../../architectures/registry.ts';
import { currentBackend } from '../../harness/backend.ts';
import type { Batch } from '../../harness/data/streams.ts';
import { Rng } from '../../harness/data/rng.ts';
import { REFERENCE_ARCH, buildModel, disposeModel, matchedConfig } from '../../harness/models.ts';
import { log } from '../../harness/progress.ts';
import { powerLawFit } from '../../harness/stats.ts';
import type { Dims, ResultRecord } from '../../harness/store.ts';
import { openTrainer } from '../../harness/train/index.ts';
import type { Trainer } from '../../harness/train/step.ts';
import {
  Extrapolator, analyticCrossover, crossover, linearFit, memoryBudget, mib, sampleCount, timeIt, type Timing,
} from './measure.ts';
import type { Measurement, MetricInfo, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';

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
    budgetS: { sweep: 1200, batch: 300, train: 600, unit: 2400 }, memory: { safety: 0.75 },
    gate: { length: 32, steps: 4, batch: 2, tolerance: 1e-3 },
  },
};

/** Metrics a context point produces (each gets a skipped record when the point is skipped). */
const POINT_METRICS: [string, string][] = [
  ['prefill_latency', 's'], ['prefill_tokens_per_s', 'tokens/s'], ['prefill_peak_tensor_bytes', 'bytes'], ['prefill_peak_rss_bytes', 'bytes'],
  ['state_bytes', 'bytes'], ['decode_latency', 's'], ['decode_tokens_per_s', 'tokens/s'], ['decode_peak_tensor_bytes', 'bytes'],
  ['decode_peak_rss_bytes', 'bytes'],
];
const TRAIN_METRICS: [string, string][] = [
  ['train_step_latency', 's'], ['train_tokens_per_s', 'tokens/s'], ['train_peak_tensor_bytes', 'bytes'], ['train_peak_rss_bytes', 'bytes'],
];
/** Fitted against context (per batch) and compared with the reference. */
const CONTEXT_FITS = ['prefill_latency', 'prefill_tokens_per_s', 'decode_latency', 'decode_tokens_per_s', 'state_bytes',
  'prefill_peak_tensor_bytes', 'decode_peak_tensor_bytes'];
const TRAIN_FITS = ['train_step_latency', 'train_tokens_per_s', 'train_peak_tensor_bytes'];
/** Costs (lower is cheaper) for which a crossover with the reference is computed. */
export const CROSSOVER_METRICS = ['state_bytes', 'decode_latency', 'prefill_latency', 'decode_peak_tensor_bytes', 'prefill_peak_tensor_bytes',
  'train_step_latency', 'train_peak_tensor_bytes'];

const rss = (): number => process.memoryUsage.rss();
const now = (): number => performance.now() / 1000;

/** Deterministic token ids [batch, length] (timing does not depend on them; they are the same for every architecture). */
function tokenIds(vocab: number, batch: number, length: number, seed: number): Int32Array {
  const rng = new Rng(seed * 7919 + length * 31 + batch);
  return Int32Array.from({ length: batch * length }, () => rng.int(vocab));
}

type PrefillOut = { logits: tf.Tensor3D; state: DecodeState };

function tidyPrefill(model: LanguageModel, tokens: tf.Tensor2D, allLogits = false): PrefillOut {
  return tf.tidy(() => model.prefill(tokens, { allLogits }) as unknown as tf.TensorContainer) as unknown as PrefillOut;
}

function tidyStep(model: LanguageModel, state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState } {
  return tf.tidy(() => model.step(state, token) as unknown as tf.TensorContainer) as unknown as { logits: tf.Tensor2D; state: DecodeState };
}

/** Profile f (tensor-memory peak over every kernel) and time it; the result stays alive. */
async function profiled<T>(f: () => T): Promise<{ result: T; peakBytes: number; before: number; seconds: number }> {
  const before = tf.memory().numBytes;
  const t0 = now();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() => f() as unknown as tf.TensorContainer);
  } catch (e) {
    // tf.profile does not reset the engine's profiling flag when the query throws: every later kernel
    // would be profiled (slow, and its records kept). Callers run the computation once unprofiled first
    // (the gate; a canary training step), because a kernel that throws under the profiler on wasm also
    // leaves a rejected timer promise behind.
    (tf.engine() as unknown as { state: { profiling: boolean } }).state.profiling = false;
    throw e;
  }
  const result = info.result as unknown as T;
  const peak = Math.max(Number.isFinite(info.peakBytes) ? info.peakBytes : 0, tf.memory().numBytes);
  return { result, peakBytes: peak, before, seconds: now() - t0 };
}

/** Correctness gate: prefill (all logits; last only) and steps against forward on a short input. */
function gate(model: LanguageModel, s: EfficiencySettings['gate'], seed: number): { ok: boolean; relDiff: number; note: string } {
  const { length: t, steps: k, batch: b } = s;
  const p = t - k;
  try {
    const ids = tokenIds(model.config.vocab, b, t, seed + 1);
    return tf.tidy(() => {
      const all = tf.tensor2d(ids, [b, t], 'int32');
      const ref = model.forward(all);
      const scale = Math.max(ref.abs().max().dataSync()[0]!, 1e-6);
      const diffs: number[] = [];
      const maxDiff = (a: tf.Tensor, c: tf.Tensor) => tf.sub(a, c).abs().max().dataSync()[0]!;
      const prompt = all.slice([0, 0], [-1, p]);
      const full = model.prefill(prompt, { allLogits: true });
      diffs.push(maxDiff(full.logits, ref.slice([0, 0, 0], [-1, p, -1])));
      const last = model.prefill(prompt);
      diffs.push(maxDiff(last.logits.reshape([b, -1]), ref.slice([0, p - 1, 0], [-1, 1, -1]).reshape([b, -1])));
      let state = last.state;
      for (let i = 0; i < k; i++) {
        const r = model.step(state, all.slice([0, p + i], [-1, 1]).reshape([b]) as tf.Tensor1D);
        diffs.push(maxDiff(r.logits, ref.slice([0, p + i, 0], [-1, 1, -1]).reshape([b, -1])));
        state = r.state;
      }
      const rel = Math.max(...diffs) / scale;
      const posOk = state.pos === t;
      const ok = Number.isFinite(rel) && rel <= s.tolerance && posOk;
      const note = `max |logit difference| / max |logit| = ${rel.toExponential(2)} over prefill(all logits), prefill(last) and ${k} steps `
        + `after a ${p}-token prompt (batch ${b}); tolerance ${s.tolerance}${posOk ? '' : `; state.pos ${state.pos} != ${t}`}`;
      return { ok, relDiff: rel, note };
    });
  } catch (e) {
    return { ok: false, relDiff: NaN, note: `prefill/step raised: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Curves of one unit, kept for crossovers: metric -> batch -> length -> value. */
type Curves = Map<string, Map<number, Map<number, number>>>;

function addCurve(c: Curves, metric: string, batch: number, length: number, value: number): void {
  if (!Number.isFinite(value)) return;
  let byBatch = c.get(metric);
  if (!byBatch) c.set(metric, (byBatch = new Map()));
  let byLen = byBatch.get(batch);
  if (!byLen) byBatch.set(batch, (byLen = new Map()));
  byLen.set(length, value);
}

/** The reference architecture's curves from this process (same preset, seed, backend), for crossovers. */
const referenceCurves = new Map<string, Curves>();
const refKey = (preset: string, seed: number, backend: string) => `${preset}|${seed}|${backend}`;

/** Crossover and ratio records of `arch` against `ref` curves (shared by the suite and crossoversFromRecords). */
export function compareWithReference(arch: Curves, ref: Curves, reference: string): Measurement[] {
  const out: Measurement[] = [];
  for (const metric of CROSSOVER_METRICS) {
    const axis = metric.startsWith('train_') ? 'seq' : 'context';
    for (const [batch, mine] of arch.get(metric) ?? []) {
      const theirs = ref.get(metric)?.get(batch);
      if (!theirs) continue;
      for (const [len, v] of [...mine].sort((a, b) => a[0] - b[0])) {
        const r = theirs.get(len);
        if (r === undefined || !(r > 0)) continue;
        out.push({ metric: 'ratio_vs_reference', value: v / r, unit: 'ratio', dims: { of: metric, [axis]: len, batch, versus: reference } });
      }
      if (metric === 'state_bytes') {
        const common = [...mine.keys()].filter((l) => theirs.has(l)).sort((a, b) => a - b);
        if (common.length >= 2) {
          const a = linearFit(common, common.map((l) => mine.get(l)!)), r = linearFit(common, common.map((l) => theirs.get(l)!));
          out.push({
            metric: 'state_bytes_per_token_ratio_vs_reference', value: r.slope > 0 ? a.slope / r.slope : NaN, unit: 'ratio', dims: { batch, versus: reference },
            note: `measured slopes over ${common.join(', ')}: ${a.slope.toFixed(1)} B/token (constant ${a.intercept.toFixed(0)} B) vs ${r.slope.toFixed(1)} B/token (constant ${r.intercept.toFixed(0)} B)`,
          });
        }
      }
      const x = crossover(mine, theirs);
      if (!x) continue;
      out.push({
        metric: 'crossover_length', value: x.length, unit: 'tokens', dims: { of: metric, batch, versus: reference },
        flag: x.kind === 'interpolated' ? undefined : x.kind,
        note: `${x.kind}: length from which ${metric} is below the reference's; ${x.note}`,
      });
    }
  }
  return out;
}

/**
 * Crossovers and ratios from a run's records (for a run whose reference unit ran in another process:
 * resumed, sharded or merged). Returns records per (arch, seed) as the suite would have written them.
 */
export function crossoversFromRecords(records: ResultRecord[], reference = REFERENCE_ARCH): { arch: string; seed: number; preset: string; measurements: Measurement[] }[] {
  const curves = new Map<string, Curves>();
  for (const r of records) {
    if (r.suite !== 'efficiency' || r.flag === 'skipped' || !CROSSOVER_METRICS.includes(r.metric)) continue;
    const len = Number(r.dims.context ?? r.dims.seq), batch = Number(r.dims.batch);
    if (!Number.isFinite(len) || !Number.isFinite(batch) || r.value === null) continue;
    const k = `${r.arch}|${r.seed}|${r.preset}|${r.backend}`;
    let c = curves.get(k);
    if (!c) curves.set(k, (c = new Map()));
    addCurve(c, r.metric, batch, len, r.value);
  }
  const out: { arch: string; seed: number; preset: string; measurements: Measurement[] }[] = [];
  for (const [k, c] of curves) {
    const [arch, seed, preset, backend] = k.split('|') as [string, string, string, string];
    if (arch === reference) continue;
    const ref = curves.get(`${reference}|${seed}|${preset}|${backend}`);
    if (!ref) continue;
    out.push({ arch, seed: Number(seed), preset, measurements: compareWithReference(c, ref, reference) });
  }
  return out;
}

class Recorder {
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
class Clock {
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

export async function runEfficiency(ctx: SuiteContext, settings: EfficiencySettings): Promise<Measurement[]> {
  const backend = currentBackend().name;
  const spec = ctx.spec;
  const cfg = ctx.matched.config;
  const rec = new Recorder();
  const curves: Curves = new Map();
  const isReference = spec.name === REFERENCE_ARCH;
  const baseBytes = tf.memory().numBytes;
  const model = buildModel(spec, cfg, ctx.seed);
  const paramBytes = [...model.params.vars.values()].reduce((s, v) => s + bufferBytes(v), 0);
  const afterBuild = tf.memory().numBytes;
  rec.add('param_bytes', paramBytes, 'bytes', {}, { note: `${model.params.vars.size} parameter tensors` });
  const analytic = model.analyticStateBytes ? (t: number, b: number) => model.analyticStateBytes!(t, b) : null;
  if (!analytic) {
    rec.add('state_bytes_analytic', NaN, 'bytes', {}, {
      flag: 'skipped', note: 'the model declares no analyticStateBytes(context, batch): no analytic cross-check of its state',
    });
  }
  const label = `efficiency ${spec.name}`;
  /**
   * Peak memory is reported as what a process holding only this model (and, for decode, this cache) would
   * need: the parameters plus the most the call had alive on top of what existed before it (tf.profile's
   * peak over every kernel minus numBytes before the call). Other units' leftovers and earlier points'
   * tensors are thereby excluded; caches the call creates (a causal mask at a new length) are included.
   */
  const PEAK_DEF = 'parameters + (peak tf.memory().numBytes over the call\'s kernels, tf.profile - numBytes just before the call)';
  const clock = new Clock(now() + settings.budgetS.unit);

  const load = () => loadavg()[0]!;
  rec.add('machine_load_avg', load(), 'load', { when: 'start' }, { note: `1-minute load average of the machine (${availableParallelism()} CPUs) when the unit started` });

  const g = gate(model, settings.gate, ctx.seed);
  rec.add('correctness_gate', g.ok ? 1 : 0, 'bool', {}, { flag: g.ok ? undefined : 'failed', note: g.note });
  rec.add('gate_relative_logit_diff', g.relDiff, 'ratio', {}, { note: g.note });
  log(`${label}: correctness gate ${g.ok ? 'passed' : 'FAILED'} (${g.note})`);

  const plan: { length: number; batch: number; phase: 'sweep' | 'batch' }[] = [];
  const [firstBatch, ...otherBatches] = settings.batches;
  for (const length of settings.lengths) plan.push({ length, batch: firstBatch!, phase: 'sweep' });
  for (const batch of otherBatches) for (const length of settings.batchLengths) plan.push({ length, batch, phase: 'batch' });

  if (!g.ok) {
    const why = `not measured: the correctness gate failed (${g.note})`;
    for (const p of plan) rec.skip(POINT_METRICS, { context: p.length, batch: p.batch }, why);
    for (const seq of settings.train.lengths) rec.skip(TRAIN_METRICS, { seq, batch: settings.train.batch }, why);
    disposeModel(model);
    return rec.out;
  }

  const memEst = new Map<number, Extrapolator>();
  const timeEst = new Map<number, Extrapolator>();
  const stepEst = new Map<number, Extrapolator>();
  const est = (m: Map<number, Extrapolator>, b: number, kind: 'memory' | 'time') => {
    let e = m.get(b);
    if (!e) m.set(b, (e = new Extrapolator(kind)));
    return e;
  };

  /** Short profiled prefills (and one step) at the probe lengths: what the first real point is extrapolated from. */
  const probe = async (batch: number) => {
    for (const length of settings.probeLengths) {
      const tokens = tf.tensor2d(tokenIds(cfg.vocab, batch, length, ctx.seed), [batch, length], 'int32');
      const p = await profiled(() => tidyPrefill(model, tokens));
      await p.result.logits.data();
      est(memEst, batch, 'memory').add(length, p.peakBytes - p.before);
      est(timeEst, batch, 'time').add(length, p.seconds);
      const tok = tf.tensor1d(Array.from({ length: batch }, () => 1), 'int32');
      // the first probe also warms the decode path up (JIT of the JS around the kernels, kernel caches)
      let state = p.result.state;
      const warm = length === settings.probeLengths[0];
      const until = now() + (warm ? settings.decode.globalWarmupS : 0);
      for (let i = 0; warm && (i < settings.decode.globalWarmup || now() < until); i++) {
        const s = tidyStep(model, state, tok);
        await s.logits.data();
        disposeReplaced(state, s.state);
        s.logits.dispose();
        state = s.state;
      }
      const t0 = now();
      const s = tidyStep(model, state, tok);
      await s.logits.data();
      est(stepEst, batch, 'time').add(length, now() - t0);
      disposeReplaced(state, s.state);
      disposeState(s.state);
      tf.dispose([p.result.logits, s.logits, tokens, tok]);
    }
  };

  const measurePoint = async (length: number, batch: number) => {
    const dims = { context: length, batch };
    const predicted = est(memEst, batch, 'memory').predict(length) ?? 0;
    const budget = memoryBudget(backend, settings.memory.safety, settings.memory.budgetBytes);
    if (predicted > budget.bytes) {
      const why = `skipped before running: estimated prefill peak ${mib(predicted)} above the budget ${mib(budget.bytes)} (${budget.why}); `
        + `estimate extrapolated from measured peaks at shorter lengths`;
      rec.skip(POINT_METRICS, dims, why);
      log(`${label} T=${length} B=${batch}: ${why}`);
      return;
    }
    const tPrefill = est(timeEst, batch, 'time').predict(length) ?? 0;
    const tStep = est(stepEst, batch, 'time').predict(length) ?? 0;
    const need = tPrefill * (1 + settings.prefill.minSamples) + tStep * (1 + settings.decode.warmup + settings.decode.minSamples);
    if (need > clock.remaining()) {
      const why = `skipped before running: estimated ${need.toFixed(1)} s (prefill ~${tPrefill.toFixed(2)} s per run) exceeds the `
        + `${Math.max(0, clock.remaining()).toFixed(1)} s left of this phase's time budget`;
      rec.skip(POINT_METRICS, dims, why);
      log(`${label} T=${length} B=${batch}: ${why}`);
      return;
    }
    const tokens = tf.tensor2d(tokenIds(cfg.vocab, batch, length, ctx.seed), [batch, length], 'int32');
    const tok = tf.tensor1d(tokenIds(cfg.vocab, batch, 1, ctx.seed + 2), 'int32');
    const mark = rec.out.length;
    try {
      // memory pass (also the first warm-up): profiled prefill; its state is the one decode starts from
      let rssPeak = rss();
      const p = await profiled(() => tidyPrefill(model, tokens));
      await p.result.logits.data();
      rssPeak = Math.max(rssPeak, rss());
      ctx.meter.sample();
      p.result.logits.dispose();
      est(memEst, batch, 'memory').add(length, p.peakBytes - p.before);
      est(timeEst, batch, 'time').add(length, p.seconds);
      const prefillPeak = paramBytes + Math.max(0, p.peakBytes - p.before);
      rec.add('prefill_peak_tensor_bytes', prefillPeak, 'bytes', dims, { note: `${PEAK_DEF}; parameters ${mib(paramBytes)}` });
      rec.add('prefill_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });

      let state = p.result.state;
      const measured = stateBytes(state);
      rec.add('state_bytes', measured, 'bytes', dims, { note: `distinct buffers held by the decoding state after prefill (pos ${state.pos})` });
      addCurve(curves, 'state_bytes', batch, length, measured);
      if (analytic) {
        const a = analytic(state.pos, batch);
        rec.add('state_bytes_analytic', a.bytes, 'bytes', dims, { note: a.formula });
        const ratio = measured / a.bytes;
        rec.add('state_bytes_over_analytic', ratio, 'ratio', dims, {
          flag: Math.abs(ratio - 1) > 0.01 ? 'mismatch' : undefined,
          note: `measured ${measured} B / analytic ${a.bytes} B (${a.formula})`,
        });
      }

      // decode: one profiled step (memory, warm-up), then timed steps; each step disposes what it replaced
      const sampleMem = () => {
        rssPeak = Math.max(rssPeak, rss());
      };
      rssPeak = rss();
      const ps = await profiled(() => tidyStep(model, state, tok));
      await ps.result.logits.data();
      sampleMem();
      const decodePeak = paramBytes + measured + Math.max(0, ps.peakBytes - ps.before);
      disposeReplaced(state, ps.result.state);
      ps.result.logits.dispose();
      state = ps.result.state;
      ctx.meter.sample();
      est(stepEst, batch, 'time').add(length, ps.seconds);
      const stepFn = async () => {
        const r = tidyStep(model, state, tok);
        await r.logits.data();
        disposeReplaced(state, r.state);
        r.logits.dispose();
        state = r.state;
      };
      const dWarm = ps.seconds <= settings.decode.warmupMaxS ? settings.decode.warmup : 0;
      const dt = await timeIt(stepFn, { warmup: dWarm, samples: sampleCount(ps.seconds, settings.decode), after: sampleMem });
      rec.timing('decode_latency', dt, dims, `1 profiled step and ${dWarm} warm-up steps, from context ${length} on (one token per sequence per step)`);
      rec.add('decode_tokens_per_s', batch / dt.median, 'tokens/s', dims, { ci95: [batch / dt.ci95[1], batch / dt.ci95[0]], note: 'batch / median per-step latency' });
      rec.add('decode_peak_tensor_bytes', decodePeak, 'bytes', dims, {
        note: `parameters + the cache before the step (${measured} B) + (peak tf.memory().numBytes over one step's kernels, tf.profile - numBytes just before it); parameters ${mib(paramBytes)}`,
      });
      rec.add('decode_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });
      addCurve(curves, 'decode_latency', batch, length, dt.median);
      addCurve(curves, 'decode_peak_tensor_bytes', batch, length, decodePeak);
      const after = stateBytes(state);
      rec.add('state_bytes_after_decode', after, 'bytes', { context: state.pos, batch }, { note: `after ${state.pos - length} decode steps from context ${length}` });
      if (analytic) {
        const a = analytic(state.pos, batch);
        rec.add('state_bytes_after_decode_analytic', a.bytes, 'bytes', { context: state.pos, batch }, {
          flag: Math.abs(after / a.bytes - 1) > 0.01 ? 'mismatch' : undefined, note: a.formula,
        });
      }
      disposeState(state);

      // prefill timing (the profiled pass above was its first warm-up)
      const pWarm = p.seconds <= settings.prefill.warmupMaxS ? settings.prefill.warmup : 0;
      const pt = await timeIt(async () => {
        const r = tidyPrefill(model, tokens);
        await r.logits.data();
        r.logits.dispose();
        disposeState(r.state);
      }, { warmup: pWarm, samples: sampleCount(p.seconds, settings.prefill) });
      rec.timing('prefill_latency', pt, dims, `1 profiled run and ${pWarm} warm-up runs`);
      rec.add('prefill_tokens_per_s', (batch * length) / pt.median, 'tokens/s', dims, { ci95: [(batch * length) / pt.ci95[1], (batch * length) / pt.ci95[0]], note: 'batch x length / median prefill latency' });
      addCurve(curves, 'prefill_latency', batch, length, pt.median);
      addCurve(curves, 'prefill_peak_tensor_bytes', batch, length, prefillPeak);
      log(`${label} T=${length} B=${batch}: prefill ${pt.median.toFixed(3)} s, decode ${(dt.median * 1000).toFixed(2)} ms/token, `
        + `state ${mib(measured)}, prefill peak ${mib(prefillPeak)}`);
    } catch (e) {
      // a model that raises at this point: drop its partial records, record why, go on with the next point
      rec.out.splice(mark);
      for (const c of curves.values()) c.get(batch)?.delete(length);
      const why = `raised while measuring: ${errorText(e)}`;
      rec.fail(POINT_METRICS, dims, why);
      log(`${label} T=${length} B=${batch}: ${why}`);
    } finally {
      tf.dispose([tokens, tok]);
    }
  };

  // context sweep, then the other batch sizes
  for (const phase of ['sweep', 'batch'] as const) {
    clock.start(settings.budgetS[phase]);
    const probed = new Set<number>();
    for (const p of plan.filter((q) => q.phase === phase)) {
      if (!probed.has(p.batch)) {
        await probe(p.batch);
        probed.add(p.batch);
      }
      await measurePoint(p.length, p.batch);
    }
    clock.finish();
  }

  // training step time and memory against sequence length
  clock.start(settings.budgetS.train);
  await trainSweep(model, settings, ctx, rec, curves, clock, backend, label, paramBytes);
  clock.finish();

  // fits
  for (const metric of [...CONTEXT_FITS, ...TRAIN_FITS]) {
    const against = TRAIN_FITS.includes(metric) ? 'seq' : 'context';
    const series = new Map<number, [number, number][]>();
    for (const m of rec.out) {
      if (m.metric !== metric || m.flag === 'skipped' || !Number.isFinite(m.value) || !m.dims) continue;
      const b = Number(m.dims.batch);
      if (!series.has(b)) series.set(b, []);
      series.get(b)!.push([Number(m.dims[against]), m.value]);
    }
    for (const [batch, pts] of series) {
      if (pts.length < 2) continue;
      pts.sort((a, b) => a[0] - b[0]);
      const fit = powerLawFit(pts.map((q) => q[0]), pts.map((q) => q[1]));
      const dims = { of: metric, batch, against };
      const note = `${metric} ~ ${fit.coefficient.toPrecision(4)} x ${against}^${fit.exponent.toFixed(3)} over ${fit.n} lengths `
        + `${pts[0]![0]}..${pts.at(-1)![0]}; R^2 ${fit.r2.toFixed(4)}${fit.n < 3 ? '; two points: no interval' : ''}`;
      rec.add('power_law_exponent', fit.exponent, 'exponent', dims, { ci95: fit.n > 2 ? fit.ci95 : null, note });
      rec.add('power_law_r2', fit.r2, 'r2', dims, { note });
    }
  }
  summarise(rec, curves, analytic, settings);

  // crossovers against the reference
  const key = refKey(ctx.preset.name, ctx.seed, backend);
  if (isReference) referenceCurves.set(key, curves);
  else {
    const ref = referenceCurves.get(key);
    if (ref) rec.out.push(...compareWithReference(curves, ref, REFERENCE_ARCH));
    else {
      rec.add('crossover_length', NaN, 'tokens', { of: 'measured', versus: REFERENCE_ARCH }, {
        flag: 'skipped',
        note: `the reference (${REFERENCE_ARCH}) was not measured in this process (resumed, sharded or run alone); `
          + 'crossoversFromRecords() in suites/efficiency.ts computes them from the run\'s records',
      });
    }
    analyticAgainstReference(rec, ctx, analytic, settings);
  }

  rec.add('machine_load_avg', load(), 'load', { when: 'end' }, { note: `1-minute load average of the machine (${availableParallelism()} CPUs) when the unit ended` });
  rec.add('cached_tensor_bytes', tf.memory().numBytes - afterBuild, 'bytes', {}, {
    note: 'tensors still alive after the sweep beyond the parameters (the model\'s caches: masks, rotation tables; or a leak)',
  });
  disposeModel(model);
  rec.add('unit_leaked_tensor_bytes', tf.memory().numBytes - baseBytes, 'bytes', {}, { note: 'live tensor bytes after the unit minus before it (caches kept by shared layers count here)' });
  return rec.out;
}

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 300);

function rssNote(backend: string): string {
  return backend === 'wasm'
    ? 'process RSS sampled after each call; the wasm heap never shrinks, so this includes the high-water mark of earlier points'
    : 'process RSS sampled after each call';
}

async function trainSweep(model: LanguageModel, settings: EfficiencySettings, ctx: SuiteContext, rec: Recorder, curves: Curves,
                          clock: Clock, backend: string, label: string, paramBytes: number): Promise<void> {
  const s = settings.train;
  const batch = s.batch;
  const cfg = model.config;
  const makeBatch = (seq: number): Batch => ({
    batch, seq, tokens: tokenIds(cfg.vocab, batch, seq + 1, ctx.seed + 3), mask: new Float32Array(batch * seq).fill(1),
  });
  // the trainer models are trained with (harness/train), with the workers training picks for a step of this shape;
  // one per length, opened before the length's first timed step and one at a time (a data-parallel one holds the workers)
  let open = null as { seq: number; trainer: Trainer } | null;
  const trainerFor = (seq: number): Trainer => {
    if (open?.seq !== seq) {
      open?.trainer.close();
      open = null; // (stays null if opening raises)
      open = { seq, trainer: openTrainer(model, { ...ctx.preset.train, batch }, { seq }) };
    }
    return open.trainer;
  };
  const step = async (b: Batch) => {
    trainerFor(b.seq).step(b, ctx.preset.train.lr);
  };
  const mem = new Extrapolator('memory'), time = new Extrapolator('time');

  const measure = async (seq: number, dims: Dims) => {
    const b = makeBatch(seq);
    const { workers } = trainerFor(seq);
    const on = workers === 1 ? 'one thread' : `${workers} data-parallel threads`;
    let rssPeak = rss();
    const p = await profiled(() => step(b));
    await p.result;
    rssPeak = Math.max(rssPeak, rss());
    ctx.meter.sample();
    mem.add(seq, p.peakBytes - p.before);
    time.add(seq, p.seconds);
    const warm = p.seconds <= s.warmupMaxS ? s.warmup : 0;
    const tt = await timeIt(() => step(b), { warmup: warm, samples: sampleCount(p.seconds, s), after: () => { rssPeak = Math.max(rssPeak, rss()); } });
    rec.timing('train_step_latency', tt, dims, `1 profiled step and ${warm} warm-up steps; forward, backward, clipping and AdamW by the trainer models are trained with, on ${on}`);
    rec.add('train_tokens_per_s', (batch * seq) / tt.median, 'tokens/s', dims, { ci95: [(batch * seq) / tt.ci95[1], (batch * seq) / tt.ci95[0]] });
    const trainPeak = 3 * paramBytes + Math.max(0, p.peakBytes - p.before);
    rec.add('train_peak_tensor_bytes', trainPeak, 'bytes', dims, {
      note: `parameters and AdamW's two moments (3 x ${mib(paramBytes)}) + (peak tf.memory().numBytes over one step's kernels, tf.profile - numBytes just before it)`
        + (workers === 1 ? '' : `; this thread's rows of the batch only (${on}: each worker's tensors live in its own backend)`),
    });
    rec.add('train_peak_rss_bytes', rssPeak, 'bytes', dims, { note: rssNote(backend) });
    addCurve(curves, 'train_step_latency', batch, seq, tt.median);
    addCurve(curves, 'train_peak_tensor_bytes', batch, seq, trainPeak);
    log(`${label} train seq=${seq} B=${batch}: step ${tt.median.toFixed(3)} s, peak ${mib(trainPeak)}`);
  };

  let failed: string | null = null;
  try {
    try {
      await step(makeBatch(s.probeLengths[0]!)); // unprofiled canary: a model whose training step raises fails here
      for (const seq of s.probeLengths) {
        trainerFor(seq);
        const p = await profiled(() => step(makeBatch(seq)));
        await p.result;
        mem.add(seq, p.peakBytes - p.before);
        time.add(seq, p.seconds);
      }
    } catch (e) {
      failed = `a training step raised at a probe length (${s.probeLengths.join(', ')}): ${errorText(e)}`;
      log(`${label}: ${failed}`);
    }
    for (const seq of s.lengths) {
      const dims = { seq, batch };
      if (failed) {
        rec.fail(TRAIN_METRICS, dims, `not measured: ${failed}`);
        continue;
      }
      const predicted = mem.predict(seq) ?? 0;
      const budget = memoryBudget(backend, settings.memory.safety, settings.memory.budgetBytes);
      if (predicted > budget.bytes) {
        const why = `skipped before running: estimated training-step peak ${mib(predicted)} above the budget ${mib(budget.bytes)} (${budget.why})`;
        rec.skip(TRAIN_METRICS, dims, why);
        log(`${label} train seq=${seq}: ${why}`);
        continue;
      }
      const t = time.predict(seq) ?? 0;
      if (t * (1 + s.minSamples) > clock.remaining()) {
        const why = `skipped before running: estimated ${(t * (1 + s.minSamples)).toFixed(1)} s exceeds the ${Math.max(0, clock.remaining()).toFixed(1)} s left of the training phase's budget`;
        rec.skip(TRAIN_METRICS, dims, why);
        log(`${label} train seq=${seq}: ${why}`);
        continue;
      }
      const mark = rec.out.length;
      try {
        await measure(seq, dims);
      } catch (e) {
        rec.out.splice(mark);
        for (const c of curves.values()) c.get(batch)?.delete(seq);
        failed = `a training step raised at seq ${seq}: ${errorText(e)}`;
        rec.fail(TRAIN_METRICS, dims, failed);
        log(`${label} train seq=${seq}: ${failed}`);
      }
    }
  } finally {
    open?.trainer.close();
  }
}

/** State as a constant plus bytes per token (measured and analytic); decode latency growth from the shortest to the longest length. */
function summarise(rec: Recorder, curves: Curves, analytic: ((t: number, b: number) => { bytes: number; formula: string }) | null,
                   settings: EfficiencySettings): void {
  for (const [batch, pts] of curves.get('state_bytes') ?? []) {
    const lens = [...pts.keys()].sort((a, b) => a - b);
    if (lens.length < 2) continue;
    const fit = linearFit(lens, lens.map((l) => pts.get(l)!));
    const span = `${lens[0]}..${lens.at(-1)}`;
    rec.add('state_bytes_per_token', fit.slope, 'bytes', { batch }, { note: `least-squares slope of measured state bytes over lengths ${span}` });
    rec.add('state_bytes_constant', fit.intercept, 'bytes', { batch }, { note: `least-squares intercept of measured state bytes over lengths ${span}` });
    const values = lens.map((l) => pts.get(l)!);
    rec.add('state_bytes_max_over_min', Math.max(...values) / Math.min(...values), 'ratio', { batch }, { note: `over lengths ${span}; 1 means identical at every length` });
    if (analytic) {
      const a = linearFit(lens, lens.map((l) => analytic(l, batch).bytes));
      rec.add('state_bytes_per_token_analytic', a.slope, 'bytes', { batch }, { note: analytic(lens[0]!, batch).formula });
      rec.add('state_bytes_constant_analytic', a.intercept, 'bytes', { batch });
    }
  }
  for (const [batch, pts] of curves.get('decode_latency') ?? []) {
    const lens = [...pts.keys()].sort((a, b) => a - b);
    if (lens.length < 2) continue;
    const lo = lens[0]!, hi = lens.at(-1)!;
    const planned = batch === settings.batches[0] ? settings.lengths.at(-1)! : settings.batchLengths.at(-1)!;
    rec.add('decode_latency_growth', pts.get(hi)! / pts.get(lo)!, 'ratio', { batch, from: lo, to: hi }, {
      note: `median per-token decode latency at ${hi} over that at ${lo}${hi < planned ? ` (longest planned ${planned} not measured)` : ''}`,
    });
  }
}

/** Analytic state-size comparison with the reference: bytes-per-token ratio and the length where this state becomes smaller. */
function analyticAgainstReference(rec: Recorder, ctx: SuiteContext, analytic: ((t: number, b: number) => { bytes: number; formula: string }) | null,
                                  settings: EfficiencySettings): void {
  const refSpec = getArchitecture(REFERENCE_ARCH);
  if (!refSpec || !analytic) return;
  const refCfg = matchedConfig(refSpec, ctx.preset, 'params').config;
  withDryModel(refSpec, refCfg, (refModel) => {
    if (!refModel.analyticStateBytes) return;
    const refA = (t: number, b: number) => refModel.analyticStateBytes!(t, b).bytes;
    const b = settings.batches[0]!;
    const maxT = settings.lengths.at(-1)!;
    const slope = (f: (t: number, b: number) => number) => (f(maxT, b) - f(maxT / 2, b)) / (maxT / 2);
    const refSlope = slope(refA);
    const mine = (t: number, bb: number) => analytic(t, bb).bytes;
    const ratio = refSlope > 0 ? slope(mine) / refSlope : NaN;
    const constant = mine(maxT, b) - slope(mine) * maxT;
    rec.add('state_bytes_per_token_ratio_vs_reference_analytic', ratio, 'ratio', { batch: b, versus: REFERENCE_ARCH }, {
      note: `analytic bytes per token over the reference's (${REFERENCE_ARCH}: ${refModel.analyticStateBytes(maxT, b).formula}); this model's constant part ${constant} B`,
    });
    const at = analyticCrossover((t) => mine(t, b), (t) => refA(t, b));
    rec.add('crossover_length', at ?? NaN, 'tokens', { of: 'state_bytes_analytic', batch: b, versus: REFERENCE_ARCH }, {
      flag: at === null ? 'not-reached' : undefined,
      note: at === null ? 'analytic state never smaller than the reference\'s up to 2^24 tokens' : 'smallest length from which the analytic state is smaller than the reference\'s',
    });
  });
}

const info = { direction: 'none', kind: 'info', headline: false } as const;

/** How reports read this suite's metrics (the name-based inference would rank diagnostics). */
export const EFFICIENCY_METRICS: Record<string, Partial<MetricInfo>> = {
  state_bytes: { direction: 'lower', kind: 'memory', headline: true },
  decode_tokens_per_s: { direction: 'higher', kind: 'throughput', headline: true },
  prefill_latency: { direction: 'lower', kind: 'latency', headline: true },
  decode_latency_growth: { direction: 'lower', kind: 'latency', headline: false },
  correctness_gate: info, gate_relative_logit_diff: info, power_law_exponent: info, power_law_r2: info, crossover_length: info,
  ratio_vs_reference: info, timing_cpu_share: info, machine_load_avg: info, state_bytes_analytic: info, state_bytes_over_analytic: info, state_bytes_after_decode_analytic: info,
  state_bytes_per_token_analytic: info, state_bytes_constant_analytic: info, state_bytes_per_token_ratio_vs_reference: info,
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

export const efficiency: Suite = {
  name: 'efficiency',
  description: 'prefill latency, decode latency and throughput, state bytes (measured and analytic), memory peaks and training step cost against context length',
  settings: EFFICIENCY_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: EFFICIENCY_METRICS,
  figures: (records, kit) => FIGURES
    .filter((f) => records.some((r) => r.metric === f.metric && Number.isFinite(r.value)))
    .map((f) => ({ ...kit.lines(records, f.metric, f.axis, { title: f.title, logLog: true, fit: true, where: f.axis === 'context' ? { batch: 1 } : {} }), covers: [f.metric] })),
  run: (ctx) => runEfficiency(ctx, EFFICIENCY_SETTINGS[ctx.preset.name] ?? EFFICIENCY_SETTINGS.small!),
};

registerSuite(efficiency);
