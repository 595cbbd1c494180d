// Training: masked next-token cross-entropy, AdamW, linear warm-up + cosine decay, global-norm clipping.
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { paramSignature } from '../architectures/dry-build.ts';
import type { LanguageModel } from '../architectures/interface.ts';
import { tokenNll } from '../architectures/ops/loss/index.ts';
import { readFloats } from '../architectures/ops/wasm-backend.ts';
import type { Batch } from './data/streams.ts';
import type { PeakMeter } from './measure.ts';
import { trainParallel } from './parallel.ts';
import type { TrainConfig } from './presets.ts';

/** Split a batch into model inputs [B,T], targets [B,T] and mask [B,T]. */
export function batchTensors(b: Batch): { inputs: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D } {
  const all = tf.tensor2d(b.tokens, [b.batch, b.seq + 1], 'int32');
  return {
    inputs: all.slice([0, 0], [-1, b.seq]),
    targets: all.slice([0, 1], [-1, b.seq]),
    mask: tf.tensor2d(b.mask, [b.batch, b.seq]),
  };
}

/** Mean masked loss of one batch (a scalar). */
export function batchLoss(model: LanguageModel, b: Batch, meter?: PeakMeter): tf.Scalar {
  const { inputs, targets, mask } = batchTensors(b);
  const nll = tokenNll(model.forward(inputs), targets);
  meter?.sample();
  return tf.div(tf.sum(tf.mul(nll, mask)), Math.max(1, maskSum(b))) as tf.Scalar;
}

export function learningRate(cfg: TrainConfig, step: number): number {
  if (step < cfg.warmup) return (cfg.lr * (step + 1)) / cfg.warmup;
  const p = Math.min(1, (step - cfg.warmup) / Math.max(1, cfg.steps - cfg.warmup));
  return cfg.lr * (cfg.minLrFrac + (1 - cfg.minLrFrac) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** AdamW over named variables; decoupled weight decay on matrices only (not norms or gains). */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  constructor(private readonly cfg: TrainConfig, private readonly vars: ReadonlyMap<string, tf.Variable>) {
    for (const [n, w] of vars) {
      this.m.set(n, tf.variable(tf.zerosLike(w), false));
      this.v.set(n, tf.variable(tf.zerosLike(w), false));
    }
  }
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t++;
    const { beta1, beta2, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t), bc2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      for (const [n, w] of this.vars) {
        const g = grads[n];
        if (!g) continue;
        const m = this.m.get(n)!, v = this.v.get(n)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), 1e-8));
        const decayed = w.rank >= 2 && weightDecay > 0 ? tf.mul(w, 1 - lr * weightDecay) : w;
        w.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
  }
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** Scale gradients so their global L2 norm is at most maxNorm. Returns the norm before clipping. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
  if (!(norm > maxNorm)) return { grads, norm };
  const scale = maxNorm / norm;
  const clipped: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) {
    clipped[n] = tf.mul(g, scale);
    g.dispose();
  }
  return { grads: clipped, norm };
}

export interface TrainResult {
  steps: number;
  tokens: number;
  seconds: number;
  tokensPerS: number;
  losses: number[];
  /** Step at which the loss became NaN or infinite; training stopped there. */
  divergedAt?: number;
  /** Data-parallel participants (threads, each with its own backend) that computed the gradients. */
  workers: number;
}

export interface TrainHooks {
  onStep?(step: number, loss: number, tokensPerS: number): void;
  meter?: PeakMeter;
  /** Data-parallel workers (1: this thread only). Default: defaultWorkers(model, cfg). */
  workers?: number;
  /**
   * Called after each step with the number of steps done (the model holds the updated weights); true ends
   * training there, before cfg.steps (a budget calibrated on a probe: suites/tasks/training.ts).
   */
  stop?(stepsDone: number): boolean;
}

/** Gradients of the mean loss of a batch, keyed by parameter name (the caller disposes them). */
export function gradients(model: LanguageModel, b: Batch, meter?: PeakMeter): { loss: number; grads: Record<string, tf.Tensor> } {
  return shardGradients(model, b, Math.max(1, maskSum(b)), meter);
}

/** Sum of a batch's loss mask: the denominator of its mean loss. */
export function maskSum(b: Batch): number {
  let s = 0;
  for (let i = 0; i < b.mask.length; i++) s += b.mask[i]!;
  return s;
}

/**
 * Gradients of sum(nll * mask) / denom over a batch (a shard of a larger one when denom is the whole
 * batch's mask sum: the shards' gradients then add up to the whole batch's). Keyed by parameter name.
 */
export function shardGradients(model: LanguageModel, b: Batch, denom: number, meter?: PeakMeter): { loss: number; grads: Record<string, tf.Tensor> } {
  const names = [...model.params.vars.keys()];
  const list = names.map((n) => model.params.vars.get(n)!);
  const { value, grads } = tf.variableGrads(() => {
    const { inputs, targets, mask } = batchTensors(b);
    const nll = tokenNll(model.forward(inputs), targets);
    meter?.sample();
    return tf.div(tf.sum(tf.mul(nll, mask)), denom) as tf.Scalar;
  }, list);
  meter?.sample();
  const loss = value.dataSync()[0]!;
  value.dispose();
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) {
    const g = grads[model.params.vars.get(n)!.name];
    if (g) byName[n] = g;
  }
  return { loss, grads: byName };
}

/** Where each parameter sits in one flat float32 vector (in the order of the model's variables). */
export class FlatLayout {
  readonly names: string[];
  readonly shapes: number[][];
  readonly offsets: number[];
  readonly sizes: number[];
  /** Whether each parameter gets weight decay (matrices do; norms and gains do not). */
  readonly decayed: boolean[];
  readonly total: number;
  constructor(vars: ReadonlyMap<string, tf.Variable>) {
    this.names = [...vars.keys()];
    this.shapes = this.names.map((n) => [...vars.get(n)!.shape]);
    this.sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.decayed = this.shapes.map((s) => s.length >= 2);
    this.offsets = [];
    let o = 0;
    for (const n of this.sizes) {
      this.offsets.push(o);
      o += n;
    }
    this.total = o;
  }
  /** Names and shapes, to check that two replicas hold the same parameters in the same order. */
  signature(): string {
    return paramSignature(this.names.map((n, i) => [n, this.shapes[i]!]));
  }
  /** Copy tensors (by name; missing ones as zeros) into flat. */
  write(tensors: Record<string, tf.Tensor>, flat: Float32Array): void {
    this.names.forEach((n, i) => {
      const t = tensors[n];
      const o = this.offsets[i]!;
      if (t) flat.set(readFloats(t), o);
      else flat.fill(0, o, o + this.sizes[i]!);
    });
  }
  /** Copy the variables' values into flat. */
  read(vars: ReadonlyMap<string, tf.Variable>, flat: Float32Array): void {
    this.write(Object.fromEntries(vars), flat);
  }
  /** Set every variable from flat. */
  assign(vars: ReadonlyMap<string, tf.Variable>, flat: Float32Array): void {
    this.names.forEach((n, i) => {
      const o = this.offsets[i]!;
      tf.tidy(() => vars.get(n)!.assign(tf.tensor(flat.subarray(o, o + this.sizes[i]!), this.shapes[i], 'float32')));
    });
  }
}

/** Sum of squares of a float array, in double precision. */
export function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

/** The factor that scales a gradient of global norm `norm` to at most maxNorm (clipByGlobalNorm's rule). */
export const clipScale = (norm: number, maxNorm: number): number => (norm > maxNorm ? maxNorm / norm : 1);

/**
 * AdamW on the elements [lo, hi) of a flat parameter vector: the same update as AdamW above (bias-corrected
 * moments, decoupled decay on matrices only), in JS over host memory: one pass instead of ~10 ops per
 * variable, and shardable, so that each data-parallel worker updates its own slice.
 */
export class FlatAdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  /** [start, end, decayed] pieces of [lo, hi) (relative to lo), one per parameter it overlaps. */
  private readonly pieces: [number, number, boolean][] = [];
  constructor(private readonly cfg: TrainConfig, layout: FlatLayout, readonly lo = 0, readonly hi = layout.total) {
    this.m = new Float32Array(hi - lo);
    this.v = new Float32Array(hi - lo);
    layout.offsets.forEach((o, i) => {
      const a = Math.max(o, lo), b = Math.min(o + layout.sizes[i]!, hi);
      if (a < b) this.pieces.push([a - lo, b - lo, layout.decayed[i]!]);
    });
  }
  /** g: this slice's gradient (indexed from lo), scaled by gradScale (clipping); w: the whole flat vector. */
  apply(g: Float32Array, w: Float32Array, lr: number, gradScale = 1): void {
    this.t++;
    const { beta1, beta2, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t), bc2 = 1 - Math.pow(beta2, this.t);
    const m = this.m, v = this.v, lo = this.lo;
    const c1 = 1 - beta1, c2 = 1 - beta2, lrOverBc1 = lr / bc1, invBc2 = 1 / bc2, scale = gradScale;
    for (const [a, b, decayed] of this.pieces) {
      const keep = decayed && weightDecay > 0 ? Math.fround(1 - lr * weightDecay) : 1;
      for (let i = a; i < b; i++) {
        const gi = Math.fround(g[i]! * scale);
        const mi = m[i]! * beta1 + gi * c1;
        const vi = v[i]! * beta2 + gi * gi * c2;
        m[i] = mi;
        v[i] = vi;
        w[lo + i] = w[lo + i]! * keep - (lrOverBc1 * mi) / (Math.sqrt(vi * invBc2) + 1e-8);
      }
    }
  }
}

/**
 * Data-parallel participants to use by default: ARCHBENCH_WORKERS when set; else, on CPU backends and when
 * a step is big enough, one per core. The default depends only on the machine and the model, never on its
 * momentary load, so a rerun on the same machine reproduces the same numbers bit for bit. The count is
 * recorded with the results, which do not depend on it beyond float tolerance.
 */
export function defaultWorkers(model: LanguageModel, cfg: TrainConfig): number {
  const env = process.env.ARCHBENCH_WORKERS;
  if (env && /^\d+$/.test(env) && Number(env) >= 1) return Math.min(Number(env), cfg.batch);
  if (!['wasm', 'cpu'].includes(tf.getBackend())) return 1;
  const flopsPerStep = cfg.batch * model.config.seq * model.flopsPerToken(model.config.seq);
  if (flopsPerStep < MIN_PARALLEL_FLOPS || cfg.steps < MIN_PARALLEL_STEPS) return 1;
  return Math.max(1, Math.min(availableParallelism(), cfg.batch));
}

/** Below this much work per step (~25 ms on one core), starting worker threads costs more than it saves. */
export const MIN_PARALLEL_FLOPS = 5e8;
export const MIN_PARALLEL_STEPS = 20;

/** One process-local training run: this thread computes every gradient. */
function trainLocal(model: LanguageModel, data: Iterator<Batch>, cfg: TrainConfig, hooks: TrainHooks): TrainResult {
  const layout = new FlatLayout(model.params.vars);
  const opt = new FlatAdamW(cfg, layout);
  const w = new Float32Array(layout.total), g = new Float32Array(layout.total);
  layout.read(model.params.vars, w);
  const losses: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  let divergedAt: number | undefined;
  for (let step = 0; step < cfg.steps; step++) {
    const b = data.next().value as Batch;
    const { loss, grads } = gradients(model, b, hooks.meter);
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      divergedAt = step;
      break;
    }
    layout.write(grads, g);
    tf.dispose(grads);
    opt.apply(g, w, learningRate(cfg, step), clipScale(Math.sqrt(sumSquares(g)), cfg.clip));
    layout.assign(model.params.vars, w);
    losses.push(loss);
    tokens += b.batch * b.seq;
    hooks.onStep?.(step, loss, tokens / ((performance.now() - t0) / 1000));
    if (hooks.stop?.(step + 1)) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps: losses.length, tokens, seconds, tokensPerS: tokens / seconds, losses, divergedAt, workers: 1 };
}

/**
 * Train `model` for cfg.steps on the batch sequence, or until hooks.stop says so. Stops early, flagged, on
 * a non-finite loss.
 * With hooks.workers > 1 (the default for big enough steps on CPU backends, see defaultWorkers) the batch
 * is split over worker threads (harness/parallel.ts); the result matches the one-thread run within float
 * tolerance, and the number of workers is returned.
 */
export function train(model: LanguageModel, data: Iterator<Batch>, cfg: TrainConfig, hooks: TrainHooks = {}): TrainResult {
  const data0 = data;
  const workers = hooks.workers ?? defaultWorkers(model, cfg);
  if (workers > 1) {
    const parallel = trainParallel(model, data, cfg, hooks, workers);
    if ('steps' in parallel) return parallel;
    // the workers could not be used: train here, first on the batches already taken
    const taken = parallel.taken;
    data = { next: () => (taken.length ? { value: taken.shift()!, done: false } : data0.next()) } as Iterator<Batch>;
  }
  return trainLocal(model, data, cfg, hooks);
}

/** Bits per token over windows of seq+1 tokens (all positions scored), in batches. */
export function evaluateBpb(model: LanguageModel, windows: Int32Array[], evalBatch: number,
                            forward: (t: tf.Tensor2D) => tf.Tensor3D = (t) => model.forward(t)): number {
  let bits = 0, count = 0;
  for (let i = 0; i < windows.length; i += evalBatch) {
    const group = windows.slice(i, i + evalBatch);
    const seq = group[0]!.length - 1;
    const flat = new Int32Array(group.length * (seq + 1));
    group.forEach((w, j) => flat.set(w, j * (seq + 1)));
    bits += tf.tidy(() => {
      const all = tf.tensor2d(flat, [group.length, seq + 1], 'int32');
      const nll = tokenNll(forward(all.slice([0, 0], [-1, seq])), all.slice([0, 1], [-1, seq]));
      return tf.sum(nll).dataSync()[0]! / Math.LN2;
    });
    count += group.length * seq;
  }
  return bits / count;
}
