// The embedding lookup: the wasm kernel and the reference (gradient by one-hot matMul) against tf.gather
// and its own gradient on the cpu backend, on both CPU backends.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { TOL, describeOnCpuBackends } from '../../../tests/agreement.ts';
import { setFastPath } from '../fast-path.ts';
import { embed } from './index.ts';

describeOnCpuBackends('embedding: the wasm kernel and the reference agree with tf.gather (values and gradients, 1e-5 relative)', () => {

  it('embedding: gather with a scatter-add gradient vs tf.gather and its own gradient (cpu backend)', async () => {
    const ids = [[3, 0, 7, 7], [1, 3, 3, 9]];
    const table = Array.from({ length: 10 * 6 }, (_, i) => Math.sin(i * 1.7));
    const probe = Array.from({ length: 2 * 4 * 6 }, (_, i) => Math.cos(i * 0.3));
    const run = (useGather: boolean) => tf.tidy(() => {
      const t = tf.tensor2d(table, [10, 6]), p = tf.tensor3d(probe, [2, 4, 6]), i = tf.tensor2d(ids, [2, 4], 'int32');
      const f = (a: tf.Tensor) => (useGather ? tf.gather(a, i) : embed(a as tf.Tensor2D, i));
      const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), p)))([t]);
      return [Array.from(f(t).dataSync()), Array.from(g!.dataSync())];
    });
    const fast = run(false);
    setFastPath(false);
    const plainWasm = run(false); // the one-hot matMul gradient (the wasm OneHot ignores dtype float32: cast)
    setFastPath(true);
    await tf.setBackend('cpu');
    let reference: number[][];
    try {
      reference = run(true);
    } finally {
      await tf.setBackend('wasm');
    }
    for (const candidate of [fast, plainWasm]) {
      for (let k = 0; k < 2; k++) {
        const scale = Math.max(...reference[k]!.map(Math.abs));
        const diff = Math.max(...candidate[k]!.map((v, j) => Math.abs(v - reference[k]![j]!)));
        expect(diff / scale).toBeLessThanOrEqual(TOL);
      }
    }
  });
});
