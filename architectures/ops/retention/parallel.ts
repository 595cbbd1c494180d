// The parallel (quadratic) forms of retention, as in training: the whole decayed score matrix at once.
// The chunkwise and recurrent forms are held to them (retention.test.ts). Layouts: q, k [B, H, T, Dk];
// v [B, H, T, Dv].
import * as tf from '@tensorflow/tfjs';
import { cachedConst, detach } from '../../tensor-helpers.ts';
import { cumsumLast, gatedDecay, msrScale } from './decay.ts';

/** Parallel decay mask D[h,n,m] = gamma_h^(n-m) / sqrt(sum_{m'<=n} gamma_h^(n-m')) for m <= n, else 0: [H, T, T]. */
function msrDecayMask(logGammas: number[], t: number): tf.Tensor {
  return cachedConst(`msr-mask:${logGammas.join(',')}:${t}`, () => {
    const m = new Float32Array(logGammas.length * t * t);
    logGammas.forEach((lg, h) => {
      for (let n = 0; n < t; n++) {
        const norm = Math.sqrt(msrScale(lg, n));
        for (let j = 0; j <= n; j++) m[(h * t + n) * t + j] = Math.exp(lg * (n - j)) / norm;
      }
    });
    return tf.tensor3d(m, [logGammas.length, t, t]);
  });
}

/**
 * Parallel MSR:  A = (q_r k_r^T) ⊙ D,  A_n /= clamp(sum_m |A_nm|, 1, 5e4) (detached),  o = A v.
 * qr, kr [B,H,T,Dk] (rotated, k already scaled by Dk^-1/2), v [B,H,T,Dv] -> o [B,H,T,Dv].
 */
export function msrParallel(qr: tf.Tensor, kr: tf.Tensor, v: tf.Tensor, logGammas: number[]): tf.Tensor4D {
  const a = tf.mul(tf.matMul(qr as tf.Tensor4D, kr as tf.Tensor4D, false, true), msrDecayMask(logGammas, qr.shape[2]!));
  const norm = tf.clipByValue(detach(tf.sum(tf.abs(a), -1, true)), 1, 5e4);
  return tf.matMul(tf.div(a, norm) as tf.Tensor4D, v as tf.Tensor4D);
}

/**
 * Parallel gated retention: o_n = sum_{m<=n} exp(G_n - G_m) (q_n . k_m) v_m, G = cumsum(a).
 * q, k [B,H,T,Dk] (k already scaled), v [B,H,T,Dv], a [B,H,T] log-decays (< 0).
 */
export function gatedParallel(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, a: tf.Tensor): tf.Tensor4D {
  const scores = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), gatedDecay(cumsumLast(a)));
  return tf.matMul(scores as tf.Tensor4D, v as tf.Tensor4D);
}
