// The embedding lookup as plain tf ops: the reference the wasm kernel is held to (embedding.test.ts).
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';

/** Rows of table [V, D] at ids -> [N, D]: gather, with a one-hot matMul gradient. */
export function embedRowsPlain(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D {
  const vocab = table.shape[0];
  const flat = ids.reshape([-1]) as tf.Tensor1D;
  const lookup = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([flat]);
    return {
      value: tf.gather(t, flat),
      // oneHot then cast: the wasm backend's OneHot ignores dtype 'float32' (it writes int32 bits).
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [tf.matMul(tf.transpose(tf.cast(tf.oneHot(saved[0] as tf.Tensor1D, vocab), 'float32')), dy)],
    };
  }) as unknown as GradFunc);
  return lookup(table) as tf.Tensor2D;
}
