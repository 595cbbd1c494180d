// The per-token loss the trainer and the evaluations use: the webgpu or wasm kernel where one applies,
// else the reference.
import type * as tf from '@tensorflow/tfjs';
import { tokenNllPlain } from './reference.ts';
import { crossEntropyWasm } from './wasm.ts';
import { crossEntropyWebgpu } from './webgpu.ts';

/** Per-target negative log-likelihood in nats: logits [B,T,V], targets [B,T] -> [B,T]. */
export function tokenNll(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const [b, t, v] = logits.shape;
  const rows = logits.reshape([b * t, v]) as tf.Tensor2D, flat = targets.reshape([b * t]) as tf.Tensor1D;
  const fast = crossEntropyWebgpu(rows, flat) ?? crossEntropyWasm(rows, flat);
  return fast ? (fast.reshape([b, t]) as tf.Tensor2D) : tokenNllPlain(logits, targets);
}
