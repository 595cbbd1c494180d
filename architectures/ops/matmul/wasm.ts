// matMul2d on the wasm backend: the forward and both gradient products on XNNPACK's 2-D path (or the
// native GEMM), the gradient's transposes by JS loops on XNNPACK and by transpose flags on the native GEMM.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { type WasmBackend, alloc, nativeGemm, off, transposeInto } from '../wasm-backend.ts';

/** Swap the last two axes: [..., M, N] -> [..., N, M] (exact; no gradient of its own). */
function transposeRaw(be: WasmBackend, x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const m = x.shape[r - 2]!, n = x.shape[r - 1]!;
  const batch = x.size / (m * n);
  const shape = [...x.shape.slice(0, -2), n, m];
  const { t, o } = alloc(be, shape);
  const xo = off(be, x), h = be.wasm.HEAPF32;
  for (let b = 0; b < batch; b++) transposeInto(h, xo + b * m * n, m, n, o + b * m * n);
  return t;
}

/**
 * y = x W on XNNPACK (or the native GEMM); the gradient's products too: dx = dy W^T, dW = x^T dy, with
 * explicit JS transposes on XNNPACK and transpose flags on the native GEMM.
 */
export function matMul2dWasm(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D | null {
  const be = fastBackend(x, w);
  if (!be || x.rank !== 2 || w.rank !== 2 || x.dtype !== 'float32' || w.dtype !== 'float32') return null;
  const f = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const bb = be;
        if (!bb) return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)];
        if (nativeGemm()) return [tf.matMul(dy, ws, false, true), tf.matMul(xs, dy, true, false)];
        return [tf.matMul(dy, transposeRaw(bb, ws) as tf.Tensor2D), tf.matMul(transposeRaw(bb, xs) as tf.Tensor2D, dy)];
      },
    };
  }) as unknown as GradFunc);
  return f(x, w) as tf.Tensor2D;
}
