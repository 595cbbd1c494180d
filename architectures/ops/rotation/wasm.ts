// The interleaved rotation on the wasm backend: pair by pair (in the native addon on wasm+openblas, in JS on
// wasm), forward and gradient, with the tables as constants.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, isTable, nativeGemm, off } from '../wasm-backend.ts';

/**
 * out = x * cos + rotate_every_two(x) * sin with tables [T, D] over x [..., T, D] (the plain formula, pair
 * by pair: out[2i] = x[2i] c[2i] - x[2i+1] s[2i], out[2i+1] = x[2i+1] c[2i+1] + x[2i] s[2i+1]).
 * The tables are constants here: callers check mayNeedGradient first.
 */
export function rotateWasm(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor | null {
  const be = fastBackend(x, cos, sin);
  if (!be || x.rank < 2 || x.dtype !== 'float32') return null;
  const d = x.shape[x.rank - 1]!, t = x.shape[x.rank - 2]!;
  if (d % 2 !== 0 || !isTable(cos, t, d) || !isTable(sin, t, d) || cos.dtype !== 'float32' || sin.dtype !== 'float32') return null;
  const outer = x.size / (t * d);
  const run = (src: tf.Tensor, c: tf.Tensor, sn: tf.Tensor, sign: 1 | -1): tf.Tensor => {
    const { t: out, o } = alloc(be, x.shape);
    const h = be.wasm.HEAPF32, xo = off(be, src), co = off(be, c), so = off(be, sn), native = nativeGemm();
    if (native) native.rotate(h.buffer, xo, co, so, o, outer, t, d, sign);
    else rotateJs(h, xo, co, so, o, outer, t, d, sign);
    return out;
  };
  const f = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin]);
    return { value: run(a, cos, sin, 1), gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => run(dy, s[0]!, s[1]!, -1) };
  }) as unknown as GradFunc);
  return f(x) as tf.Tensor;
}

/** The rotation (sign 1) or its transpose, the gradient (sign -1), of x [outer, t, d] with tables [t, d], into out. */
export function rotateJs(h: Float32Array, xo: number, co: number, so: number, o: number, outer: number, t: number, d: number,
                         sign: 1 | -1): void {
  for (let b = 0; b < outer; b++) {
    for (let ti = 0; ti < t; ti++) {
      const xb = xo + (b * t + ti) * d, ob = o + (b * t + ti) * d, tb = ti * d;
      if (sign === 1) {
        for (let j = 0; j < d; j += 2) {
          const x0 = h[xb + j]!, x1 = h[xb + j + 1]!;
          h[ob + j] = x0 * h[co + tb + j]! - x1 * h[so + tb + j]!;
          h[ob + j + 1] = x1 * h[co + tb + j + 1]! + x0 * h[so + tb + j + 1]!;
        }
      } else {
        for (let j = 0; j < d; j += 2) {
          const g0 = h[xb + j]!, g1 = h[xb + j + 1]!;
          h[ob + j] = g0 * h[co + tb + j]! + g1 * h[so + tb + j + 1]!;
          h[ob + j + 1] = g1 * h[co + tb + j + 1]! - g0 * h[so + tb + j]!;
        }
      }
    }
  }
}
