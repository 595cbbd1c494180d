// The tfjs-wasm kernels replaced by wasm-patches.ts: BatchMatMul within 1e-5 of the backend's own (every
// layout, on both CPU backends), the data-movement kernels bit for bit.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOL, describeOnCpuBackends, relErr, rnd } from '../../tests/agreement.ts';
import { useBackend } from '../../tests/helpers.ts';
import { fastBackend, setFastPath } from './fast-path.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

describeOnCpuBackends('batched and transposed matMul agrees with the backend\'s own kernel (1e-5 relative)', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D', [33, 20], [20, 17], false, false],
    ['2-D transposeA', [33, 20], [33, 17], true, false],
    ['2-D transposeB', [20, 33], [17, 33], false, true],
    ['2-D both', [33, 20], [17, 33], true, true],
    ['batched', [2, 3, 20, 33], [2, 3, 33, 17], false, false],
    ['batched transposeB (q k^T)', [2, 3, 20, 8], [2, 3, 25, 8], false, true],
    ['batched transposeA (k^T v)', [2, 3, 25, 8], [2, 3, 25, 6], true, false],
    ['broadcast a', [1, 20, 33], [4, 33, 17], false, false],
    ['broadcast b, transposed', [4, 20, 33], [1, 17, 33], false, true],
    ['rank 5', [2, 2, 2, 7, 5], [2, 2, 2, 5, 3], false, false],
    ['one row', [6, 1, 16], [6, 16, 40], false, false],
  ];
  for (const [name, sa, sb, ta, tb] of cases) {
    it(name, () => {
      const a = rnd(sa, 50), b = rnd(sb, 51);
      setFastPath(true);
      fastBackend(); // installs the kernels
      const fast = tf.matMul(a, b, ta, tb);
      setFastPath(false);
      const plain = tf.matMul(a, b, ta, tb);
      setFastPath(true);
      expect(relErr(fast, plain)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('replaced wasm kernels are bit-identical to the originals', () => {
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['transpose [0,2,1,3]', () => tf.transpose(tf.range(0, 2 * 3 * 4 * 5).reshape([2, 3, 4, 5]), [0, 2, 1, 3])],
    ['transpose last two', () => tf.transpose(rnd([3, 17, 33], 30), [0, 2, 1])],
    ['transpose 2-D', () => tf.transpose(rnd([40, 24], 31))],
    ['transpose other', () => tf.transpose(rnd([2, 3, 4], 32), [2, 0, 1])],
    ['transpose with unit axes', () => tf.transpose(rnd([1, 5, 1, 7], 33), [3, 1, 2, 0])],
    ['transpose int32', () => tf.transpose(tf.range(0, 24, 1, 'int32').reshape([4, 6]))],
    ['slice', () => tf.slice(rnd([4, 5, 6], 34), [1, 0, 2], [2, 5, 3])],
    ['slice contiguous', () => tf.slice(rnd([4, 5, 6], 35), [1, 0, 0], [2, 5, 6])],
    ['slice int32', () => tf.slice(tf.range(0, 60, 1, 'int32').reshape([6, 10]), [0, 1], [-1, 9])],
    ['split', () => tf.split(rnd([3, 4, 12], 36), [2, 4, 6], -1)],
    ['split axis 0', () => tf.split(rnd([6, 4], 37), 3, 0)],
    ['unstack', () => tf.unstack(rnd([3, 4, 2], 38), 1)],
    ['clone', () => tf.clone(rnd([5, 3], 39))],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      setFastPath(true);
      fastBackend(); // installs the kernels
      const a = ([] as tf.Tensor[]).concat(f()).map((t) => Array.from(t.dataSync()));
      setFastPath(false);
      const b = ([] as tf.Tensor[]).concat(f()).map((t) => Array.from(t.dataSync()));
      expect(a).toEqual(b);
    });
  }
});
