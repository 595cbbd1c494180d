// Small tensor helpers shared by the reference-following mixers (RetNet, Diff, YOCO, LeX, momentum),
// beside layers.ts: reference initialisation, stop-gradient, head repetition, rotation angles.
import * as tf from '@tensorflow/tfjs';
import type { Params } from './layers.ts';
import type { GradFunc } from './ops/custom-grad.ts';

/**
 * A bias-free linear weight [in, sum(outs)] whose column blocks are xavier-uniform with `gain`
 * (limit_j = gain * sqrt(6 / (in + out_j))), as if each block were its own nn.Linear. Fusing the blocks
 * keeps one 2-D matMul on the hot path.
 */
export function addXavier(p: Params, name: string, inDim: number, outs: number[], gain: number): tf.Variable {
  const total = outs.reduce((a, b) => a + b, 0);
  const w = p.add(name, [inDim, total], { kind: 'uniform', limit: 1 });
  if (!p.dry) {
    const scale = new Float32Array(total);
    let at = 0;
    for (const o of outs) scale.fill(gain * Math.sqrt(6 / (inDim + o)), at, (at += o));
    tf.tidy(() => w.assign(tf.mul(w, tf.tensor1d(scale))));
  }
  return w;
}

/** Stop-gradient (PyTorch's .detach()): the value passes, the gradient is zero. */
export const detach = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
})) as unknown as GradFunc) as <T extends tf.Tensor>(x: T) => T;

/**
 * log sigmoid(x) = -softplus(-x). tf.logSigmoid is not used: in tfjs 4.22 its gradient reads a tensor its
 * forward pass has already disposed, so any backend without our fused kernels fails in backprop.
 */
export const logSigmoid = (x: tf.Tensor): tf.Tensor => tf.neg(tf.softplus(tf.neg(x)));

/** repeat_interleave over the head axis: [B, G, S, D] -> [B, G*n, S, D] (head g*n + r is copy r of head g). */
export function repeatHeads(x: tf.Tensor, n: number): tf.Tensor4D {
  if (n === 1) return x as tf.Tensor4D;
  const [b, g, s, d] = x.shape as [number, number, number, number];
  // n copies concatenated along a new axis (contiguous block copies; its gradient sums the copies' slices).
  // Not tf.tile: the wasm Tile kernel computes an index per element (~60 ms for a 2k-token KV cache).
  const flat = x.reshape([b * g, 1, s * d]);
  return tf.concat(Array.from({ length: n }, () => flat), 1).reshape([b, g * n, s, d]) as tf.Tensor4D;
}

/**
 * Rotary angles of torchscale's RetNetRelPos and YOCO's build_rel_pos:
 * theta_i = 1 / base^(linspace(0, 1, dim/2)[i]). (The baseline's ropeAngles uses base^(-2i/dim).)
 */
export function linspaceAngles(dim: number, base = 10000): Float32Array {
  const half = dim / 2;
  const a = new Float32Array(half);
  for (let i = 0; i < half; i++) a[i] = 1 / Math.pow(base, half === 1 ? 0 : i / (half - 1));
  return a;
}

/** A mixer option as a number (from ModelConfig.mixer), with its default. */
export function numOption(mixer: Record<string, number | string | boolean>, key: string, fallback: number): number {
  const v = mixer[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`mixer option ${key} must be a number, got '${String(v)}'`);
  return n;
}

/**
 * A constant tensor (mask, decay table) built once per key and kept outside tidy scopes. Large ones
 * (over 2^20 elements, i.e. long sequences) are rebuilt per call and left to the caller's tidy.
 */
const constants = new Map<string, tf.Tensor>();
export function cachedConst(key: string, make: () => tf.Tensor): tf.Tensor {
  const hit = constants.get(key);
  if (hit) return hit;
  const t = tf.tidy(make);
  if (t.size <= 1 << 20) constants.set(key, tf.keep(t));
  return t;
}
