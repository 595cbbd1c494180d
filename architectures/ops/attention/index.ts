// Softmax attention and the head split/merge the mixers call: the wasm kernels where they apply, else the
// references.
import type * as tf from '@tensorflow/tfjs';
import { mayNeedGradient } from '../fast-path.ts';
import { attendPlain, mergeHeadsPlain, splitHeadsPlain } from './reference.ts';
import { attendWasm, mergeHeadsWasm, splitHeadsWasm } from './wasm.ts';

/**
 * softmax(q k^T * scale + mask) v.  q [B,H,T,Dh], k [B,H,S,Dh], v [B,H,S,Dv] -> [B,H,T,Dv].
 * On wasm this runs per head on XNNPACK as one op when the mask is a constant [T, S] table (or null);
 * otherwise, and on other backends, as plain batched tf ops.
 */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D {
  if (!mask || !mayNeedGradient(mask)) {
    const fast = attendWasm(q, k, v, scale, mask);
    if (fast) return fast;
  }
  return attendPlain(q, k, v, scale, mask);
}

/** Split heads: [B, T, H*Dh] -> [B, H, T, Dh]. */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  return splitHeadsWasm(x, heads) ?? splitHeadsPlain(x, heads);
}

/** Merge heads: [B, H, T, Dh] -> [B, T, H*Dh]. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  return mergeHeadsWasm(x) ?? mergeHeadsPlain(x);
}
