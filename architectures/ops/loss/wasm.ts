// Cross-entropy on the wasm backend: one wasm softmax, the rest (forward and gradient) in JS.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { alloc, off } from '../wasm-backend.ts';

/**
 * Per-row negative log-likelihood of logits [N, V] at targets [N] (int32) -> [N]. Forward: one wasm
 * softmax, then -log p[target] in JS (rows whose p underflows are redone exactly as logsumexp - z).
 * Gradient: (softmax - onehot) * dnll, in JS.
 */
export function crossEntropyWasm(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  const be = fastBackend(logits, targets);
  if (!be || logits.dtype !== 'float32' || targets.dtype !== 'int32') return null;
  const [n, v] = logits.shape;
  if (targets.size !== n) return null;
  const f = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const p = tf.softmax(z);
    save([p, targets]);
    const { t: nll, o } = alloc(be, [n]);
    const h = be.wasm.HEAPF32, po = off(be, p), zo = off(be, z), io = off(be, targets), iv = be.wasm.HEAP32;
    for (let i = 0; i < n; i++) {
      const tgt = iv[io + i]!;
      if (tgt < 0 || tgt >= v) { h[o + i] = NaN; continue; }
      const pt = h[po + i * v + tgt]!;
      if (pt > 1e-30) {
        h[o + i] = -Math.log(pt);
      } else {
        const zb = zo + i * v;
        let mx = -Infinity;
        for (let j = 0; j < v; j++) mx = Math.max(mx, h[zb + j]!);
        let sum = 0;
        for (let j = 0; j < v; j++) sum += Math.exp(h[zb + j]! - mx);
        h[o + i] = mx + Math.log(sum) - h[zb + tgt]!;
      }
    }
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [ps, tg] = saved as [tf.Tensor, tf.Tensor];
        const bb = be;
        const { t: dz, o: dzo } = alloc(bb, [n, v]);
        const hh = bb.wasm.HEAPF32, pso = off(bb, ps), gyo = off(bb, dy), io2 = off(bb, tg), iv2 = bb.wasm.HEAP32;
        for (let i = 0; i < n; i++) {
          const g = hh[gyo + i]!, pb = pso + i * v, db = dzo + i * v;
          for (let j = 0; j < v; j++) hh[db + j] = hh[pb + j]! * g;
          const tgt = iv2[io2 + i]!;
          if (tgt >= 0 && tgt < v) hh[db + tgt] = (hh[pb + tgt]! - 1) * g;
        }
        return [dz];
      },
    };
  }) as unknown as GradFunc);
  return f(logits) as tf.Tensor1D;
}
