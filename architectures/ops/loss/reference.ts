// The per-token loss as plain tf ops: the reference the wasm kernel is held to (loss.test.ts).
import * as tf from '@tensorflow/tfjs';

/** Per-target negative log-likelihood in nats, -logSoftmax(logits) . oneHot(targets): [B,T,V], [B,T] -> [B,T]. */
export function tokenNllPlain(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const v = logits.shape[2];
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, v)), -1)) as tf.Tensor2D;
}
