// Retention over a whole prompt, as the mixers call it: the parallel form, or the chunkwise one for a
// chunk size (on webgpu the WGSL kernels of webgpu.ts; the recurrent form goes token by token: recurrent.ts). All three compute
//   decayed linear attention:  o_n = sum_{m<=n} decay(n, m) (q_n . k_m) v_m
// with RetNet's normalisations as the torchscale reference has them (per form: see each).
import type * as tf from '@tensorflow/tfjs';
import { msrChunkwise, gatedChunkwise } from './chunkwise.ts';
import { gatedParallel, msrParallel } from './parallel.ts';
import { gatedChunkwiseWebgpu, msrChunkwiseWebgpu } from './webgpu.ts';

/** RetNet multi-scale retention: the parallel form (chunk null) or the chunkwise one with that chunk size. */
export function msrRetain(qr: tf.Tensor, kr: tf.Tensor, v: tf.Tensor, logGammas: number[], chunk: number | null): tf.Tensor4D {
  return chunk === null ? msrParallel(qr, kr, v, logGammas) : (msrChunkwiseWebgpu(qr, kr, v, logGammas, chunk) ?? msrChunkwise(qr, kr, v, logGammas, chunk));
}

/** YOCO gated retention: the parallel form (chunk null) or the chunkwise one with that chunk size. */
export function gatedRetain(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, a: tf.Tensor, chunk: number | null): tf.Tensor4D {
  return chunk === null ? gatedParallel(q, k, v, a) : (gatedChunkwiseWebgpu(q, k, v, a, chunk) ?? gatedChunkwise(q, k, v, a, chunk));
}
