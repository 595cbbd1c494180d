// Small plain-tfjs networks the latent suite trains beside the backbone: an MLP with biases, and one
// Adam loop over named variables. Parameters live in architectures' Params (seeded, named).
import * as tf from '@tensorflow/tfjs';
import { Params, addLinear, linear } from '../../architectures/layers.ts';
import { openUpdate } from '../../harness/train/local.ts';
import type { AdamWConfig } from '../../harness/train/optim.ts';
import { releaseBindGroups } from '../../harness/webgpu.ts';
import { seededRandom } from './glyphs.ts';

/** y = act(x W + b) per layer, no activation after the last: sizes [in, h1, ..., out]. */
export class Mlp {
  readonly weights: tf.Variable[] = [];
  readonly biases: tf.Variable[] = [];
  constructor(p: Params, prefix: string, sizes: number[]) {
    for (let i = 0; i + 1 < sizes.length; i++) {
      this.weights.push(addLinear(p, `${prefix}.${i}.w`, sizes[i]!, sizes[i + 1]!, 1 / Math.sqrt(sizes[i]!)));
      this.biases.push(p.add(`${prefix}.${i}.b`, [sizes[i + 1]!], { kind: 'zeros' }));
    }
  }
  /** All layers; `features` stops before the last (the penultimate activations). */
  apply(x: tf.Tensor, features = false): tf.Tensor {
    const n = this.weights.length - (features ? 1 : 0);
    for (let i = 0; i < n; i++) {
      x = tf.add(linear(x, this.weights[i]!), this.biases[i]!);
      if (i + 1 < this.weights.length) x = tf.relu(x);
    }
    return x;
  }
}

/** Adam as the harness's update step runs it: AdamW without weight decay or clipping (betas 0.9, 0.999). */
const ADAM: AdamWConfig = { beta1: 0.9, beta2: 0.999, weightDecay: 0, clip: Infinity };

/**
 * Adam over `vars` (by name) for `steps` steps at rate lr, through the trainer's update step (openUpdate:
 * one pass over a flat vector, not ~10 tensor ops per variable); loss(step) builds the scalar loss.
 * Variables the loss does not reach are left as they are. Returns the last loss.
 */
export async function fit(vars: ReadonlyMap<string, tf.Variable>, steps: number, lr: number, loss: (step: number) => tf.Scalar): Promise<number> {
  const names = [...vars.keys()], list = names.map((n) => vars.get(n)!);
  const update = await openUpdate(vars, ADAM);
  let last = NaN;
  try {
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(() => loss(s), list);
      if (s === steps - 1) last = (await value.data())[0]!;
      value.dispose();
      const byName: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => { const g = grads[list[i]!.name]; if (g) byName[n] = g; });
      await update.apply(byName, lr);
      await releaseBindGroups(); // many small steps: webgpu's bind groups must not pile up (harness/webgpu.ts)
    }
  } finally {
    update.dispose?.();
  }
  return last;
}

/** Rows `idx` of a row-major [n, width] array as a tensor [idx.length, width]. */
export function gatherRows(data: Float32Array, width: number, idx: number[]): tf.Tensor2D {
  const out = new Float32Array(idx.length * width);
  idx.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width), i * width));
  return tf.tensor2d(out, [idx.length, width]);
}

/**
 * A seed for tfjs's seeded random ops (randomNormal, randomUniform, multinomial), which read a seed of 0 as
 * "no seed" and draw from Math.random: 0 becomes -1, which no caller uses (their seeds are >= 0).
 */
export const tfSeed = (seed: number): number => (seed === 0 ? -1 : seed);

/** `count` indices in [0, n), uniform with replacement, deterministic in seed. */
export function seededIndices(n: number, count: number, seed: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => Math.floor(rand() * n));
}

/** sg(x): the value of x, no gradient (tfjs has no stop_gradient op). */
export const stopGradient = tf.customGrad((x) => ({ value: tf.clone(x as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as (x: tf.Tensor) => tf.Tensor;

/** Rows `ids` of a table [K, D] as a one-hot matmul (gather's gradient has no wasm kernel): [...ids] -> [..., D]. */
export function lookupRows(table: tf.Tensor2D | tf.Variable, ids: tf.Tensor): tf.Tensor {
  const [k, d] = table.shape as [number, number];
  return tf.matMul(tf.oneHot(ids.flatten().toInt(), k), table as tf.Tensor2D).reshape([...ids.shape, d]);
}
