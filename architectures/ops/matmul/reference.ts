// matMul2d as plain tf ops: the reference the wasm kernel is held to (matmul.test.ts).
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';

/** y = x W with its gradient dx = dy W^T, dW = x^T dy (explicit tf.transpose). */
export const matMul2dPlain = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)];
    },
  };
}) as unknown as GradFunc) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;
