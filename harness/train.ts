// Training: masked next-token cross-entropy, AdamW, linear warm-up + cosine decay, global-norm clipping.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../architectures/interface.ts';
import type { Batch } from './data/streams.ts';
import type { PeakMeter } from './measure.ts';
import type { TrainConfig } from './presets.ts';

/** Per-target negative log-likelihood in nats: logits [B,T,V], targets [B,T] -> [B,T]. */
export function tokenNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const v = logits.shape[2];
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, v)), -1)) as tf.Tensor2D;
}

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
  return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
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
  constructor(private readonly cfg: TrainConfig, private readonly vars: Map<string, tf.Variable>) {
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
}

export interface TrainHooks {
  onStep?(step: number, loss: number, tokensPerS: number): void;
  meter?: PeakMeter;
}

/** Gradients of the mean loss of a batch, keyed by parameter name (the caller disposes them). */
export function gradients(model: LanguageModel, b: Batch, meter?: PeakMeter): { loss: number; grads: Record<string, tf.Tensor> } {
  const names = [...model.params.vars.keys()];
  const list = names.map((n) => model.params.vars.get(n)!);
  const { value, grads } = tf.variableGrads(() => batchLoss(model, b, meter), list);
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

/** Train `model` for cfg.steps on the batch sequence. Stops early, flagged, on a non-finite loss. */
export function train(model: LanguageModel, data: Iterator<Batch>, cfg: TrainConfig, hooks: TrainHooks = {}): TrainResult {
  const opt = new AdamW(cfg, model.params.vars);
  const losses: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  let divergedAt: number | undefined;
  try {
    for (let step = 0; step < cfg.steps; step++) {
      const b = data.next().value as Batch;
      const { loss, grads } = gradients(model, b, hooks.meter);
      if (!Number.isFinite(loss)) {
        tf.dispose(grads);
        divergedAt = step;
        break;
      }
      const clipped = clipByGlobalNorm(grads, cfg.clip);
      opt.apply(clipped.grads, learningRate(cfg, step));
      tf.dispose(clipped.grads);
      losses.push(loss);
      tokens += b.batch * b.seq;
      hooks.onStep?.(step, loss, tokens / ((performance.now() - t0) / 1000));
    }
  } finally {
    opt.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { steps: losses.length, tokens, seconds, tokensPerS: tokens / seconds, losses, divergedAt };
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
