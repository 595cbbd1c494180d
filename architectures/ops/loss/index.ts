// The per-token loss the trainer and the evaluations use: the wasm kernel where it applies, else the
// reference.
import type * as tf from '@tensorflow/tfjs';
import { tokenNllPlain } from './reference.ts';
import { crossEntropyWasm } from './wasm.ts';

/** Per-target negative log-likelihood in nats: logits [B,T,V], targets [B,T] -> [B,T]. */
export function tokenNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [b, t, v] = logits.shape;
  const fast = crossEntropyWasm(logits.reshape([b * t, v]) as tf.Tensor2D, targets.reshape([b * t]) as tf.Tensor1D);
  return fast ? (fast.reshape([b, t]) as tf.Tensor2D) : tokenNllPlain(logits, targets);
}
