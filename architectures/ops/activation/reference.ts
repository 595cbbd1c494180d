// SiLU and the SwiGLU gate as plain tf ops: the reference the wasm kernel is held to (activation.test.ts).
import * as tf from '@tensorflow/tfjs';

/** SiLU (swish): z * sigmoid(z). */
export const silu = (z: tf.Tensor): tf.Tensor => tf.mul(z, tf.sigmoid(z));

/** silu(g) * u where gu = [g | u] along the last axis, each of width f. */
export function siluGatePlain(gu: tf.Tensor, f: number): tf.Tensor {
  const [g, u] = tf.split(gu, [f, f], -1);
  return tf.mul(silu(g!), u!);
}
