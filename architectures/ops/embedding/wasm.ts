// The embedding lookup on the wasm backend: rows copied by JS, the gradient a JS scatter-add.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, off } from '../wasm-backend.ts';

/** Rows of table [V, D] at ids (int32, any shape) -> [N, D]; gradient by JS scatter-add into [V, D]. */
export function gatherRowsWasm(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D | null {
  const be = fastBackend(table, ids);
  if (!be || ids.dtype !== 'int32' || table.dtype !== 'float32') return null;
  const [vocab, dim] = table.shape;
  const flat = ids.reshape([-1]);
  const n = flat.size;
  const io = off(be, flat), idv = be.wasm.HEAP32;
  for (let i = 0; i < n; i++) {
    const v = idv[io + i]!;
    if (v < 0 || v >= vocab) return null;
  }
  const f = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([flat]);
    const { t: out, o } = alloc(be, [n, dim]);
    const h = be.wasm.HEAPF32, to = off(be, t), ip = off(be, flat), iv = be.wasm.HEAP32;
    for (let i = 0; i < n; i++) {
      const src = to + iv[ip + i]! * dim;
      h.copyWithin(o + i * dim, src, src + dim);
    }
    return {
      value: out,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const bb = be;
        const { t: g, o: go } = alloc(bb, [vocab, dim]);
        const hh = bb.wasm.HEAPF32, dyo = off(bb, dy), ip2 = off(bb, saved[0]!), iv2 = bb.wasm.HEAP32;
        hh.fill(0, go, go + vocab * dim);
        for (let i = 0; i < n; i++) {
          const dst = go + iv2[ip2 + i]! * dim, src = dyo + i * dim;
          for (let j = 0; j < dim; j++) hh[dst + j]! += hh[src + j]!;
        }
        return [g];
      },
    };
  }) as unknown as GradFunc);
  return f(table) as tf.Tensor2D;
}
