// RMSNorm on the wasm backend: one op forward and one backward, by loops over the heap (the native addon's
// on wasm+openblas, the same loops in JS on wasm).
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, nativeGemm, off } from '../wasm-backend.ts';

/** RMSNorm over the last axis, one op forward and one backward. weight: [D] or null. */
export function rmsNormWasm(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor | null {
  const d = x.shape[x.rank - 1]!;
  const be = weight ? fastBackend(x, weight) : fastBackend(x);
  if (!be || x.dtype !== 'float32' || (weight && (weight.rank !== 1 || weight.size !== d))) return null;
  const rows = x.size / d;
  const forward = (xs: tf.Tensor, ws: tf.Tensor | null): { y: tf.Tensor; r: tf.Tensor } => {
    const { t: y, o: yo } = alloc(be, x.shape);
    const { t: r, o: ro } = alloc(be, [rows]);
    const h = be.wasm.HEAPF32, xo = off(be, xs), wo = ws ? off(be, ws) : -1;
    const native = nativeGemm();
    if (native) native.rmsNormForward(h.buffer, xo, wo, yo, ro, rows, d, eps);
    else rmsNormForwardJs(h, xo, wo, yo, ro, rows, d, eps);
    return { y, r };
  };
  const backward = (dy: tf.Tensor, xs: tf.Tensor, ws: tf.Tensor | null, r: tf.Tensor): tf.Tensor[] => {
    const bb = be;
    const { t: dx, o: dxo } = alloc(bb, x.shape);
    const dw = ws ? alloc(bb, [d]) : null;
    const h = bb.wasm.HEAPF32, xo = off(bb, xs), go = off(bb, dy), ro = off(bb, r), wo = ws ? off(bb, ws) : -1;
    const native = nativeGemm();
    if (native) native.rmsNormBackward(h.buffer, xo, wo, go, ro, dxo, dw ? dw.o : -1, rows, d);
    else rmsNormBackwardJs(h, xo, wo, go, ro, dxo, dw ? dw.o : -1, rows, d);
    return dw ? [dx, dw.t] : [dx];
  };
  if (weight) {
    const f = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
      const { y, r } = forward(xs, ws);
      save([xs, ws, r]);
      return { value: y, gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0]!, s[1]!, s[2]!) };
    }) as unknown as GradFunc);
    return f(x, weight) as tf.Tensor;
  }
  const f = tf.customGrad(((xs: tf.Tensor, save: tf.GradSaveFunc) => {
    const { y, r } = forward(xs, null);
    save([xs, r]);
    return { value: y, gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0]!, null, s[1]!) };
  }) as unknown as GradFunc);
  return f(x) as tf.Tensor;
}

/** Per row of x [rows, d] at float offsets of h: r = 1 / sqrt(mean(x^2) + eps), y = x r (* w); w = -1: none. */
export function rmsNormForwardJs(h: Float32Array, xo: number, wo: number, yo: number, ro: number, rows: number, d: number, eps: number): void {
  for (let i = 0; i < rows; i++) {
    const base = xo + i * d;
    let ss = 0;
    for (let j = 0; j < d; j++) { const v = h[base + j]!; ss += v * v; }
    const rr = 1 / Math.sqrt(ss / d + eps);
    h[ro + i] = rr;
    const yb = yo + i * d;
    if (wo >= 0) for (let j = 0; j < d; j++) h[yb + j] = h[base + j]! * rr * h[wo + j]!;
    else for (let j = 0; j < d; j++) h[yb + j] = h[base + j]! * rr;
  }
}

/** With n = x r: dx = r (dy w - n mean(dy w n)), dw = sum over rows of dy n (wo, dwo = -1: no weight). */
export function rmsNormBackwardJs(h: Float32Array, xo: number, wo: number, go: number, ro: number, dxo: number, dwo: number,
                                  rows: number, d: number): void {
  const acc = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const xb = xo + i * d, gb = go + i * d, rr = h[ro + i]!;
    let dot = 0;
    if (wo >= 0) {
      for (let j = 0; j < d; j++) {
        const n = h[xb + j]! * rr, g = h[gb + j]!;
        dot += g * h[wo + j]! * n;
        acc[j]! += g * n;
      }
    } else {
      for (let j = 0; j < d; j++) dot += h[gb + j]! * h[xb + j]! * rr;
    }
    const mean = dot / d, db = dxo + i * d;
    if (wo >= 0) for (let j = 0; j < d; j++) h[db + j] = rr * (h[gb + j]! * h[wo + j]! - h[xb + j]! * rr * mean);
    else for (let j = 0; j < d; j++) h[db + j] = rr * (h[gb + j]! - h[xb + j]! * rr * mean);
  }
  if (dwo >= 0) for (let j = 0; j < d; j++) h[dwo + j] = acc[j]!;
}
