// The decays the retention forms share: RetNet's fixed per-head gammas and their normaliser (torchscale
// RetNetRelPos), and YOCO's data-dependent gated decays (cumulative log-decays and their decay matrix).
import * as tf from '@tensorflow/tfjs';
import { cachedConst } from '../../tensor-helpers.ts';

/** gamma_h = 1 - 2^(-5-h): log-decays per head (torchscale RetNetRelPos). */
export function msrLogDecays(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => Math.log(1 - Math.pow(2, -5 - h)));
}

/** s_n = sum_{m<=n} gamma^(n-m): the recurrent form's normaliser after n+1 tokens (closed form). */
export function msrScale(logGamma: number, n: number): number {
  const g = Math.exp(logGamma);
  return (1 - Math.pow(g, n + 1)) / (1 - g);
}

/** Inclusive cumulative sum over the last axis (named by its positive index: the wasm Cumsum kernel crashes on axis -1). */
export const cumsumLast = (a: tf.Tensor): tf.Tensor => tf.cumsum(a, a.rank - 1);

/** Decay matrix exp(G_n - G_m) for m <= n, else 0, from cumulative log-decays G [.., T]: [.., T, T]. */
export function gatedDecay(G: tf.Tensor): tf.Tensor {
  const t = G.shape[G.rank - 1]!;
  const diff = tf.sub(tf.expandDims(G, -1), tf.expandDims(G, -2));
  const mask = cachedConst(`causal-neg:${t}`, () => {
    const m = new Float32Array(t * t);
    for (let n = 0; n < t; n++) for (let j = n + 1; j < t; j++) m[n * t + j] = -1e9;
    return tf.tensor2d(m, [t, t]);
  });
  return tf.exp(tf.add(diff, mask)); // masked before exp: exp(-1e9 + ...) = 0
}
