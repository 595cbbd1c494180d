// The SwiGLU gate the FFN calls: the webgpu or wasm kernel where one applies, else the reference.
import type * as tf from '@tensorflow/tfjs';
import { siluGatePlain } from './reference.ts';
import { siluGateWasm } from './wasm.ts';
import { siluGateWebgpu } from './webgpu.ts';

/** silu(g) * u where gu = [g | u] along the last axis, each of width f. */
export function siluGate(gu: tf.Tensor, f: number): tf.Tensor {
  if (gu.shape[gu.rank - 1] === 2 * f) {
    const fast = siluGateWebgpu(gu) ?? siluGateWasm(gu);
    if (fast) return fast;
  }
  return siluGatePlain(gu, f);
}
