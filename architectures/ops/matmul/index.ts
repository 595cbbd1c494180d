// The matrix products the layers call: the webgpu or wasm kernel where one applies, else the reference.
import * as tf from '@tensorflow/tfjs';
import { matMul2dPlain } from './reference.ts';
import { matMul2dWasm } from './wasm.ts';
import { matMulWebgpu } from './webgpu.ts';

/**
 * y = x W, 2-D only and without transpose flags, in the forward and in the gradient, so that the
 * wasm backend's XNNPACK fast path serves all three products (it ignores transposed/batched ones).
 * The gradient's transposes are explicit (JS loops on wasm: the backend's Transpose is slow). On webgpu
 * the gradient's products take transpose flags instead (webgpu.ts).
 */
export const matMul2d = (x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D =>
  (matMulWebgpu(x, w) as tf.Tensor2D | null) ?? matMul2dWasm(x, w) ?? matMul2dPlain(x, w);

/** op(a) op(b), batched over the leading axes (tf.matMul's flags): the webgpu kernel, else tf.matMul. */
export const matMul = (a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor =>
  matMulWebgpu(a, b, transposeA, transposeB) ?? tf.matMul(a, b, transposeA, transposeB);
