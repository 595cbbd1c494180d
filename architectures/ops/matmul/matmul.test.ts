// matMul2d (and linear on top of it) with the wasm kernel against tf.matMul with its own gradient, and
// against the reference, on both CPU backends.
import * as tf from '@tensorflow/tfjs';
import { it } from 'vitest';
import { describeOnCpuBackends, expectAgree, rnd } from '../../../tests/agreement.ts';
import { linear } from '../../layers.ts';
import { matMul2d } from './index.ts';
import { matMul2dPlain } from './reference.ts';

describeOnCpuBackends('matmul: the wasm kernel agrees with tf.matMul and the reference (values and gradients, 1e-5 relative)', () => {
  it('matMul2d / linear vs tf.matMul with its own (transposed) gradient', () => {
    const x = rnd([37, 24], 1), w = rnd([24, 40], 2);
    expectAgree((a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), [x, w], (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
    expectAgree((a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), [x, w], (a, b) => matMul2dPlain(a as tf.Tensor2D, b as tf.Tensor2D));
    const x3 = rnd([3, 11, 24], 3);
    expectAgree((a, b) => linear(a, b), [x3, w], (a, b) => tf.matMul(a.reshape([-1, 24]), b).reshape([3, 11, 40]));
  });
});
