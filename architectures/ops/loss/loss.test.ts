// The per-token loss: the wasm cross-entropy against the reference, and a target whose probability
// underflows, on both CPU backends.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { describeOnCpuBackends, expectAgree, rnd } from '../../../tests/agreement.ts';
import { tokenNll } from './index.ts';
import { tokenNllPlain } from './reference.ts';

describeOnCpuBackends('loss: the wasm kernel agrees with the reference (values and gradients, 1e-5 relative)', () => {
  it('loss: cross-entropy (softmax + gather in JS) vs logSoftmax * oneHot', () => {
    const z = rnd([3, 5, 256], 29, 3);
    const t = tf.tensor2d(Array.from({ length: 15 }, (_, i) => (i * 37) % 256), [3, 5], 'int32');
    expectAgree((a) => tokenNll(a as tf.Tensor3D, t), [z], (a) => tokenNllPlain(a as tf.Tensor3D, t));
    // a target whose probability underflows float32 is scored exactly (logsumexp - z)
    const big = tf.tensor3d([[[200, 0, -200, 5]]]);
    const tt = tf.tensor2d([[2]], [1, 1], 'int32');
    expect(tokenNll(big, tt).dataSync()[0]).toBeCloseTo(400, 3);
  });
});
