// Evaluation: bits per token of a model over held-out windows (read asynchronously: webgpu has no other way).
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../architectures/interface.ts';
import { tokenNll } from '../architectures/ops/loss/index.ts';
import { readAndDispose } from '../architectures/ops/read.ts';
import { yieldToEvents } from './interrupt.ts';

/** Bits per token over windows of seq+1 tokens (all positions scored), in batches. */
export async function evaluateBpb(model: LanguageModel, windows: Int32Array[], evalBatch: number,
                                  forward: (t: tf.Tensor2D) => tf.Tensor3D = (t) => model.forward(t)): Promise<number> {
  let bits = 0, count = 0;
  for (let i = 0; i < windows.length; i += evalBatch) {
    const group = windows.slice(i, i + evalBatch);
    const seq = group[0]!.length - 1;
    const flat = new Int32Array(group.length * (seq + 1));
    group.forEach((w, j) => flat.set(w, j * (seq + 1)));
    const total = tf.tidy(() => {
      const all = tf.tensor2d(flat, [group.length, seq + 1], 'int32');
      return tf.sum(tokenNll(forward(all.slice([0, 0], [-1, seq])), all.slice([0, 1], [-1, seq])));
    });
    bits += (await readAndDispose(total))[0]! / Math.LN2;
    count += group.length * seq;
    await yieldToEvents(); // a Ctrl-C stops the run here rather than after the whole evaluation
  }
  return bits / count;
}
