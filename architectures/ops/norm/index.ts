// The RMSNorm the layers call: the webgpu or wasm kernel where one applies, else the reference.
import type * as tf from '@tensorflow/tfjs';
import { rmsNormPlain } from './reference.ts';
import { rmsNormWasm } from './wasm.ts';
import { rmsNormWebgpu } from './webgpu.ts';

/** RMSNorm_eps(z) = z / sqrt(mean(z^2) + eps), times a weight when given. Over the last axis. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor {
  return rmsNormWebgpu(x, weight, eps) ?? rmsNormWasm(x, weight, eps) ?? rmsNormPlain(x, weight, eps);
}
