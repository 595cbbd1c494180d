// RMSNorm as plain tf ops: the reference the wasm kernel is held to (norm.test.ts).
import * as tf from '@tensorflow/tfjs';

/** z / sqrt(mean(z^2) + eps) over the last axis, times a weight when given. */
export function rmsNormPlain(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor {
  const normed = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
  return weight ? tf.mul(normed, weight) : normed;
}
