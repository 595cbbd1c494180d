// Softmax attention and the head split/merge around it as plain tf ops: the references the wasm kernels
// are held to (attention.test.ts).
import * as tf from '@tensorflow/tfjs';

/** softmax(q k^T * scale + mask) v as batched tf ops. */
export function attendPlain(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D {
  let s = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), scale);
  if (mask) s = tf.add(s, mask);
  return tf.matMul(tf.softmax(s), v as tf.Tensor4D) as tf.Tensor4D;
}

/** [B, T, H*Dh] -> [B, H, T, Dh]: a reshape and a transpose. */
export function splitHeadsPlain(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape as [number, number, number];
  return x.reshape([b, t, heads, d / heads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] -> [B, T, H*Dh]: a transpose and a reshape. */
export function mergeHeadsPlain(x: tf.Tensor): tf.Tensor3D {
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  return x.transpose([0, 2, 1, 3]).reshape([b, t, h * dh]) as tf.Tensor3D;
}
