// Softmax attention and the head split/merge the mixers call: the fused webgpu kernel and the wasm kernels
// where they apply, else the references.
import type * as tf from '@tensorflow/tfjs';
import { MASK_CACHE_LIMIT, cachedCausalMask } from '../../layers.ts';
import { repeatHeads } from '../../tensor-helpers.ts';
import { mayNeedGradient } from '../fast-path.ts';
import { attendBlocksPlain, attendPlain, mapDifferencePlain, mergeHeadsPlain, splitHeadsPlain } from './reference.ts';
import { attendWasm, mergeHeadsWasm, splitHeadsWasm } from './wasm.ts';
import { attendBlocksFusedWebgpu, attendFusedWebgpu } from './webgpu.ts';
import { attendPairFusedWebgpu } from './webgpu-pair.ts';

/**
 * softmax(q k^T * scale + mask) v.  q [B,H,T,Dh], k [B,H,S,Dh], v [B,H,S,Dv] -> [B,H,T,Dv].
 * On wasm this runs per head on XNNPACK as one op when the mask is a constant [T, S] table (or null);
 * otherwise, and on other backends, as plain batched tf ops. Without a mask, fused on webgpu (webgpu.ts).
 */
export function attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D {
  if (!mask) return attendFusedWebgpu(q, k, v, scale, { causal: false, window: 0 }) ?? attendUnfused(q, k, v, scale, null);
  return attendUnfused(q, k, v, scale, mask);
}

/**
 * Causal attention: query i sees keys j <= i + S - T (S - T: the KV cache before the T queries) and, with
 * window > 0, only the last `window` of them (i + S - T - j < window). k [B,Hk,S,Dh] and v [B,Hv,S,Dv] may
 * have fewer heads than q (grouped KV: query head h reads key head floor(h / (H/Hk)), value head
 * floor(h / (H/Hv))). Fused on webgpu (no T x S table); elsewhere the heads are repeated and attend takes
 * the causal mask table (none for a single query that sees the whole cache: a decode step).
 */
export function attendCausal(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, window = 0): tf.Tensor4D {
  const fused = attendFusedWebgpu(q, k, v, scale, { causal: true, window });
  if (fused) return fused;
  const h = q.shape[1]!, t = q.shape[2]!, s = k.shape[2]!;
  const kr = repeatHeads(k, h / k.shape[1]!), vr = repeatHeads(v, h / v.shape[1]!);
  if (t === 1 && (window <= 0 || s <= window)) return attendUnfused(q, kr, vr, scale, null);
  const mask = cachedCausalMask(t, s, window);
  const out = attendUnfused(q, kr, vr, scale, mask);
  if (t * s > MASK_CACHE_LIMIT) mask.dispose(); // not cached: built for this call (a recorded op keeps its own clone)
  return out;
}

/**
 * LeX's block rule (blocks of b): query i (block floor(i/b)) sees its own block causally and all of the
 * previous block, i.e. keys blockStart(i) = max(0, (floor(i/b) - 1) b) .. i; it reads keys of its own
 * block from k and keys of the previous block from kPrev (the same keys, xPos-rotated where the next block
 * sees them). q, k, kPrev [B,H,T,Dh], v [B,H,T,Dv] -> [B,H,T,Dv]. Fused on webgpu, else as [b x 2b] blocks.
 */
export function attendBlocks(q: tf.Tensor, k: tf.Tensor, kPrev: tf.Tensor, v: tf.Tensor, scale: number, b: number): tf.Tensor4D {
  return attendBlocksFusedWebgpu(q, k, kPrev, v, scale, b) ?? attendBlocksPlain(q, k, kPrev, v, scale, b);
}

/**
 * Diff's pairs of maps, causal (query t sees keys <= t + S - T): per pair p (query maps 2p, 2p+1 of
 * q [B,2P,T,Dh]; map m reads key map m / (2P/Hk) of k [B,Hk,S,Dh]; pair p value head p / (P/Hv) of
 * v [B,Hv,S,Dv]), (softmax(q1 k1^T scale) - λ softmax(q2 k2^T scale)) v -> [B,P,T,Dv]; λ a scalar or [P].
 * Fused on webgpu (both maps in one pass); elsewhere every map through `perMap` (default attendCausal)
 * and the difference.
 */
export function attendDifferential(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, lambda: tf.Tensor, scale: number,
  perMap: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor = (a, b, c) => attendCausal(a, b, c, scale)): tf.Tensor4D {
  return attendPairFusedWebgpu(q, k, v, lambda, scale) ?? mapDifferencePlain(perMap(q, k, v), lambda);
}

/** Diff's maps [B,2P,T,Dv] -> map 2p - λ map 2p+1 [B,P,T,Dv] (where a mask replaces the causal rule). */
export { mapDifferencePlain as mapDifference };

/** The wasm kernel where it applies (a constant mask or none), else the reference. */
function attendUnfused(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D {
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
