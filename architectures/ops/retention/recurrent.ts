// The recurrent form of retention (decoding, O(1) state per layer): one token's step, the state after a
// prompt in closed form, and the state before the first token.
//   S_n = decay_n S_{n-1} + k_n^T v_n,   o_n = q_n S_n      (S: [B, H, Dk, Dv])
import * as tf from '@tensorflow/tfjs';

/** One recurrent step: S' = decay * S + k^T v, o = q S'. q, k [B,H,1,Dk], v [B,H,1,Dv], decay broadcast to [B,H,1,1]. */
export function retentionStep(S: tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, decay: tf.Tensor): { o: tf.Tensor4D; S: tf.Tensor4D } {
  const [b, h, , dk] = k.shape as number[];
  const dv = v.shape[3]!;
  const kv = tf.mul(k.reshape([b!, h!, dk!, 1]), v.reshape([b!, h!, 1, dv])); // k^T v, [B,H,Dk,Dv]
  const next = tf.add(tf.mul(S, decay), kv) as tf.Tensor4D;
  return { o: tf.matMul(q as tf.Tensor4D, next), S: next };
}

/** sum_m w_m k_m^T v_m: the recurrent state after a prompt, in closed form. w [B|1, H, T, 1] -> [B,H,Dk,Dv]. */
export function decayedState(k: tf.Tensor, v: tf.Tensor, w: tf.Tensor): tf.Tensor4D {
  return tf.matMul(k as tf.Tensor4D, tf.mul(v, w) as tf.Tensor4D, true, false);
}

/** A zero recurrent state [B, H, Dk, Dv] (the state before the first token). */
export const emptyState = (b: number, h: number, dk: number, dv: number): tf.Tensor4D => tf.zeros([b, h, dk, dv]);
