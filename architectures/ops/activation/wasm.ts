// The SwiGLU gate on the wasm backend: one sigmoid in wasm, the products and the gradient in the native addon
// (wasm+openblas) or JS (wasm).
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, nativeGemm, off } from '../wasm-backend.ts';

/** silu(g) * u for gu = [g | u] on the last axis (halves of width f): one sigmoid in wasm, the rest in loops. */
export function siluGateWasm(gu: tf.Tensor): tf.Tensor | null {
  const be = fastBackend(gu);
  const w2 = gu.shape[gu.rank - 1]!;
  if (!be || gu.dtype !== 'float32' || w2 % 2 !== 0) return null;
  const f = w2 / 2, rows = gu.size / w2;
  const outShape = [...gu.shape.slice(0, -1), f];
  const fn = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    const s = tf.sigmoid(a);
    const { t: y, o: yo } = alloc(be, outShape);
    const h = be.wasm.HEAPF32, ao = off(be, a), so = off(be, s), native = nativeGemm();
    if (native) native.siluGateForward(h.buffer, ao, so, yo, rows, f);
    else siluGateForwardJs(h, ao, so, yo, rows, f);
    save([a, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, ss] = saved as [tf.Tensor, tf.Tensor];
        const bb = be;
        const { t: dgu, o: d } = alloc(bb, gu.shape);
        const hh = bb.wasm.HEAPF32, ao2 = off(bb, as), so2 = off(bb, ss), go = off(bb, dy), native = nativeGemm();
        if (native) native.siluGateBackward(hh.buffer, ao2, so2, go, d, rows, f);
        else siluGateBackwardJs(hh, ao2, so2, go, d, rows, f);
        return [dgu];
      },
    };
  }) as unknown as GradFunc);
  return fn(gu) as tf.Tensor;
}

/** y = g sigmoid(g) u per row of gu = [g | u] [rows, 2f], with sig = sigmoid(gu) beside it. */
export function siluGateForwardJs(h: Float32Array, ao: number, so: number, yo: number, rows: number, f: number): void {
  for (let i = 0; i < rows; i++) {
    const ab = ao + i * 2 * f, sb = so + i * 2 * f, yb = yo + i * f;
    for (let j = 0; j < f; j++) h[yb + j] = h[ab + j]! * h[sb + j]! * h[ab + f + j]!;
  }
}

/** dg = dy u sig (1 + g (1 - sig)), du = dy g sig, into dgu [rows, 2f]. */
export function siluGateBackwardJs(h: Float32Array, ao: number, so: number, go: number, d: number, rows: number, f: number): void {
  for (let i = 0; i < rows; i++) {
    const ab = ao + i * 2 * f, sb = so + i * 2 * f, gb = go + i * f, db = d + i * 2 * f;
    for (let j = 0; j < f; j++) {
      const g = h[ab + j]!, u = h[ab + f + j]!, sg = h[sb + j]!, dyv = h[gb + j]!;
      h[db + j] = dyv * u * sg * (1 + g * (1 - sg));
      h[db + f + j] = dyv * g * sg;
    }
  }
}
