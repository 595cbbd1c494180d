// What one training step computes on a batch: the masked next-token cross-entropy and its gradients, for
// a whole batch or for one data-parallel participant's shard of it; the Trainer contract that the
// one-thread (local.ts) and data-parallel (parallel.ts) trainers fulfil, and the one-thread trainer's
// replaceable update step (Update: on the host, local.ts; on the GPU, gpu-update.ts). A step is
// asynchronous: on webgpu a tensor can only be read with `await t.data()`.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { tokenNll } from '../../architectures/ops/loss/index.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { OptimizerState } from './optim.ts';

/** A model being trained, one optimiser step at a time. */
export interface Trainer {
  /** Data-parallel participants (threads, each with its own backend) that compute the gradients. */
  readonly workers: number;
  /** Parameter-sized buffers it keeps (the weights, AdamW's two moments, and any copy of the weights the update holds). */
  readonly parameterCopies: number;
  /**
   * One step on `batch` at learning rate `lr`: gradients, global-norm clipping, AdamW; the model then holds
   * the new weights (the GPU's work included). Resolves to the batch's mean loss; when it is not finite
   * nothing is updated.
   */
  step(batch: Batch, lr: number): Promise<number>;
  /** A copy of AdamW's state between steps, for a training checkpoint (read asynchronously: webgpu). */
  optimizerState(): Promise<OptimizerState>;
  /** Release what the trainer holds (the data-parallel workers). */
  close(): void;
}

/** The update step of a trainer: clip one step's gradients by their global norm, apply AdamW to the weights. */
export interface Update {
  /** What it is and where it runs, for logs (e.g. "AdamW on the host"). */
  readonly description: string;
  /** Parameter-sized buffers it keeps beside the model's weights (two moments; and a copy of the weights on the GPU). */
  readonly parameterCopies: number;
  /** Update the model's weights from `grads` (it disposes them); resolves once the new weights are in place. */
  apply(grads: Record<string, tf.Tensor>, lr: number): Promise<void>;
  /** A copy of AdamW's state (read asynchronously: the GPU update keeps it on the GPU). */
  optimizerState(): Promise<OptimizerState>;
  /** Release what it holds on the backend. */
  dispose?(): void;
}

/** Split a batch into model inputs [B,T], targets [B,T] and mask [B,T]. */
function batchTensors(b: Batch): { inputs: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D } {
  const all = tf.tensor2d(b.tokens, [b.batch, b.seq + 1], 'int32');
  return {
    inputs: all.slice([0, 0], [-1, b.seq]),
    targets: all.slice([0, 1], [-1, b.seq]),
    mask: tf.tensor2d(b.mask, [b.batch, b.seq]),
  };
}

/** Sum of a batch's loss mask: the denominator of its mean loss. */
export function maskSum(b: Batch): number {
  let s = 0;
  for (let i = 0; i < b.mask.length; i++) s += b.mask[i]!;
  return s;
}

/** Gradients of the mean loss of a batch, keyed by parameter name (the caller disposes them); any backend. */
export async function gradients(model: LanguageModel, b: Batch, meter?: PeakMeter): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  const { value, grads } = lossAndGradients(model, b, Math.max(1, maskSum(b)), meter);
  const loss = (await value.data())[0]!;
  value.dispose();
  return { loss, grads };
}

/**
 * The loss sum(nll * mask) / denom over a batch (a shard of a larger one when denom is the whole batch's
 * mask sum: the shards' gradients then add up to the whole batch's), as a tensor, and its gradients keyed
 * by parameter name.
 */
export function lossAndGradients(model: LanguageModel, b: Batch, denom: number, meter?: PeakMeter): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const names = [...model.params.vars.keys()];
  const list = names.map((n) => model.params.vars.get(n)!);
  const { value, grads } = tf.variableGrads(() => {
    const { inputs, targets, mask } = batchTensors(b);
    const nll = tokenNll(model.forward(inputs), targets);
    meter?.sample();
    return tf.div(tf.sum(tf.mul(nll, mask)), denom) as tf.Scalar;
  }, list);
  meter?.sample();
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) {
    const g = grads[model.params.vars.get(n)!.name];
    if (g) byName[n] = g;
  }
  return { value, grads: byName };
}
