// The SwiGLU gate on the wasm backend: one sigmoid in wasm, the products and the gradient in JS.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, off } from '../wasm-backend.ts';

/** silu(g) * u for gu = [g | u] on the last axis (halves of width f): one sigmoid in wasm, the rest in JS. */
export function siluGateWasm(gu: tf.Tensor): tf.Tensor | null {
  const be = fastBackend(gu);
  const w2 = gu.shape[gu.rank - 1]!;
  if (!be || gu.dtype !== 'float32' || w2 % 2 !== 0) return null;
  const f = w2 / 2, rows = gu.size / w2;
  const outShape = [...gu.shape.slice(0, -1), f];
  const fn = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    const s = tf.sigmoid(a);
    const { t: y, o: yo } = alloc(be, outShape);
    const h = be.wasm.HEAPF32, ao = off(be, a), so = off(be, s);
    for (let i = 0; i < rows; i++) {
      const ab = ao + i * w2, sb = so + i * w2, yb = yo + i * f;
      for (let j = 0; j < f; j++) h[yb + j] = h[ab + j]! * h[sb + j]! * h[ab + f + j]!;
    }
    save([a, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, ss] = saved as [tf.Tensor, tf.Tensor];
        const bb = be;
        const { t: dgu, o: d } = alloc(bb, gu.shape);
        const hh = bb.wasm.HEAPF32, ao2 = off(bb, as), so2 = off(bb, ss), go = off(bb, dy);
        for (let i = 0; i < rows; i++) {
          const ab = ao2 + i * w2, sb = so2 + i * w2, gb = go + i * f, db = d + i * w2;
          for (let j = 0; j < f; j++) {
            const g = hh[ab + j]!, u = hh[ab + f + j]!, sg = hh[sb + j]!, dyv = hh[gb + j]!;
            hh[db + j] = dyv * u * sg * (1 + g * (1 - sg));
            hh[db + f + j] = dyv * g * sg;
          }
        }
        return [dgu];
      },
    };
  }) as unknown as GradFunc);
  return fn(gu) as tf.Tensor;
}
