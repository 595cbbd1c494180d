// The one optimiser: AdamW over the model's parameters laid out as one flat float32 vector (FlatLayout),
// shardable so that each data-parallel participant updates its own slice; the global-norm clipping rule;
// the learning-rate schedule (linear warm-up, then cosine decay). The element-wise update is the optim
// family's host kernel (architectures/ops/optim/host.ts).
import * as tf from '@tensorflow/tfjs';
import { readFloats, readFloatsAsync } from '../../architectures/ops/wasm-backend.ts';
import { paramSignature } from '../../architectures/dry-build.ts';
import { adamwHost } from '../../architectures/ops/optim/host.ts';
import type { TrainConfig } from '../presets.ts';

export function learningRate(cfg: TrainConfig, step: number): number {
  if (step < cfg.warmup) return (cfg.lr * (step + 1)) / cfg.warmup;
  const p = Math.min(1, (step - cfg.warmup) / Math.max(1, cfg.steps - cfg.warmup));
  return cfg.lr * (cfg.minLrFrac + (1 - cfg.minLrFrac) * 0.5 * (1 + Math.cos(Math.PI * p)));
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
  /** Copy tensors (by name; missing ones as zeros) into flat. CPU backends only (reads synchronously). */
  write(tensors: Record<string, tf.Tensor>, flat: Float32Array): void {
    this.names.forEach((n, i) => this.place(i, tensors[n] && readFloats(tensors[n]), flat));
  }
  /**
   * write() on any backend: every tensor is read asynchronously, all at once. On wasm the reads are
   * zero-copy views, taken and copied with no backend allocation in between.
   */
  async writeAsync(tensors: Record<string, tf.Tensor>, flat: Float32Array): Promise<void> {
    const data = await Promise.all(this.names.map((n) => tensors[n] && readFloatsAsync(tensors[n])));
    this.names.forEach((_, i) => this.place(i, data[i], flat));
  }
  /** Copy the variables' values into flat. CPU backends only. */
  read(vars: ReadonlyMap<string, tf.Variable>, flat: Float32Array): void {
    this.write(Object.fromEntries(vars), flat);
  }
  /** read() on any backend. */
  readAsync(vars: ReadonlyMap<string, tf.Variable>, flat: Float32Array): Promise<void> {
    return this.writeAsync(Object.fromEntries(vars), flat);
  }
  private place(i: number, data: Float32Array | undefined, flat: Float32Array): void {
    const o = this.offsets[i]!;
    if (data) flat.set(data, o);
    else flat.fill(0, o, o + this.sizes[i]!);
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

/** The factor that scales a gradient of global L2 norm `norm` to at most maxNorm (global-norm clipping). */
export const clipScale = (norm: number, maxNorm: number): number => (norm > maxNorm ? maxNorm / norm : 1);

/** What AdamW and the update step read of a training configuration. */
export type AdamWConfig = Pick<TrainConfig, 'beta1' | 'beta2' | 'weightDecay' | 'clip'>;

/** AdamW's state over the whole flat vector (FlatLayout's order): both moments and the steps taken. */
export interface OptimizerState {
  m: Float32Array;
  v: Float32Array;
  t: number;
}

/**
 * AdamW on the elements [lo, hi) of a flat parameter vector: bias-corrected moments, decoupled weight decay
 * on matrices only (not norms or gains). A data-parallel participant updates its own slice.
 */
export class FlatAdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  /** [start, end, decayed] pieces of [lo, hi) (relative to lo), one per parameter it overlaps. */
  private readonly pieces: [number, number, boolean][] = [];
  /**
   * `moments`: whole-vector m and v to work in (their [lo, hi) slices; shared by the data-parallel
   * participants, or restored from a checkpoint), else zeros of its own; `t`: the steps already taken.
   */
  constructor(private readonly cfg: AdamWConfig, layout: FlatLayout, readonly lo = 0, readonly hi = layout.total,
              moments?: { m: Float32Array; v: Float32Array }, private t = 0) {
    this.m = moments ? moments.m.subarray(lo, hi) : new Float32Array(hi - lo);
    this.v = moments ? moments.v.subarray(lo, hi) : new Float32Array(hi - lo);
    layout.offsets.forEach((o, i) => {
      const a = Math.max(o, lo), b = Math.min(o + layout.sizes[i]!, hi);
      if (a < b) this.pieces.push([a - lo, b - lo, layout.decayed[i]!]);
    });
  }
  /** Steps taken (the bias correction's t). */
  get steps(): number {
    return this.t;
  }
  /** A copy of the whole state when this instance spans the whole vector (lo 0, hi total). */
  state(): OptimizerState {
    return { m: this.m.slice(), v: this.v.slice(), t: this.t };
  }
  /** g: this slice's gradient (indexed from lo), scaled by gradScale (clipping); w: the whole flat vector. */
  apply(g: Float32Array, w: Float32Array, lr: number, gradScale = 1): void {
    this.t++;
    const { beta1, beta2, weightDecay } = this.cfg;
    for (const [a, b, decayed] of this.pieces) {
      adamwHost(w.subarray(this.lo + a, this.lo + b), g.subarray(a, b), this.m.subarray(a, b), this.v.subarray(a, b),
                { lr, beta1, beta2, decay: decayed ? weightDecay : 0, t: this.t, gradScale });
    }
  }
}
