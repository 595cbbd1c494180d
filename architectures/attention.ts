// Softmax attention pieces shared by the attention-based mixers (Transformer, LeX, momentum, YOCO), around
// the attention op itself (ops/attention/): causal masking, the KV cache, the FLOP count.
import * as tf from '@tensorflow/tfjs';
import type { LayerState } from './interface.ts';
import { attendCausal } from './ops/attention/index.ts';

/**
 * Causal attention over a sequence (optionally with a sliding window of `window` keys; k, v may have fewer
 * heads than q): ops/attention's attendCausal, fused on webgpu, else with the causal mask table.
 */
export function causalAttend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, window = 0): tf.Tensor4D {
  return attendCausal(q, k, v, scale, window);
}

/** Append the new step's keys/values [B,H,1,*] to a KV cache, keeping at most `window` entries (0: all). */
export function appendKV(state: LayerState, k: tf.Tensor, v: tf.Tensor, window = 0): { k: tf.Tensor; v: tf.Tensor } {
  let kc = tf.concat([state.k as tf.Tensor, k], 2);
  let vc = tf.concat([state.v as tf.Tensor, v], 2);
  const s = kc.shape[2]!;
  if (window > 0 && s > window) {
    kc = kc.slice([0, 0, s - window, 0], [-1, -1, window, -1]);
    vc = vc.slice([0, 0, s - window, 0], [-1, -1, window, -1]);
  }
  return { k: kc, v: vc };
}

/** Forward FLOPs per token of full causal attention at context T (q k^T and A v; the peer's 4 T d). */
export const attentionFlops = (seq: number, dModel: number): number => 4 * seq * dModel;
