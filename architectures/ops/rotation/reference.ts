// The interleaved (GPT-J) rotation of RoPE and xPos as plain tf ops: the reference the wasm kernel is
// held to (rotation.test.ts).
import * as tf from '@tensorflow/tfjs';

/** rotate_every_two([a0,a1,a2,a3,...]) = [-a1, a0, -a3, a2, ...] over the last axis. */
export function rotateEveryTwo(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1]!;
  const pairs = x.reshape([...x.shape.slice(0, -1), d / 2, 2]);
  const [a, b] = tf.unstack(pairs, -1);
  return tf.stack([tf.neg(b!), a!], -1).reshape(x.shape);
}

/** out = x * cosDup + rotate_every_two(x) * sinDup; tables [T, d] broadcast. */
export function applyRotationPlain(x: tf.Tensor, cosDup: tf.Tensor, sinDup: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, cosDup), tf.mul(rotateEveryTwo(x), sinDup));
}
