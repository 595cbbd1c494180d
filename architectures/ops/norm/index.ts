// The RMSNorm the layers call: the wasm kernel where it applies, else the reference.
import type * as tf from '@tensorflow/tfjs';
import { rmsNormPlain } from './reference.ts';
import { rmsNormWasm } from './wasm.ts';

/** RMSNorm_eps(z) = z / sqrt(mean(z^2) + eps), times a weight when given. Over the last axis. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor {
  return rmsNormWasm(x, weight, eps) ?? rmsNormPlain(x, weight, eps);
}
