// The 2-D matrix product the layers call: the wasm kernel where it applies, else the reference.
import type * as tf from '@tensorflow/tfjs';
import { matMul2dPlain } from './reference.ts';
import { matMul2dWasm } from './wasm.ts';

/**
 * y = x W, 2-D only and without transpose flags, in the forward and in the gradient, so that the
 * wasm backend's XNNPACK fast path serves all three products (it ignores transposed/batched ones).
 * The gradient's transposes are explicit (JS loops on wasm: the backend's Transpose is slow).
 */
export const matMul2d = (x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => matMul2dWasm(x, w) ?? matMul2dPlain(x, w);
