// The interleaved rotation: the wasm kernel against the reference (RoPE tables, general tables, tables at
// an offset), and tables that carry a gradient, on both CPU backends.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { TOL, describeOnCpuBackends, expectAgree, relErr, rnd } from '../../../tests/agreement.ts';
import { RotationCache, ropeAngles } from '../../layers.ts';
import { applyRotation } from './index.ts';
import { applyRotationPlain } from './reference.ts';

describeOnCpuBackends('rotation: the wasm kernel agrees with the reference (values and gradients, 1e-5 relative)', () => {
  it('rotation (RoPE tables, and general [T, D] tables)', () => {
    const x = rnd([2, 3, 8, 16], 10);
    const cache = new RotationCache(ropeAngles(16));
    const { cos, sin } = cache.tables(0, 8);
    expectAgree((a) => applyRotation(a, cos, sin), [x], (a) => applyRotationPlain(a, cos, sin));
    const c2 = rnd([8, 16], 11), s2 = rnd([8, 16], 12);
    expectAgree((a) => applyRotation(a, c2, s2), [x], (a) => applyRotationPlain(a, c2, s2));
    // decode-time tables at an offset
    const x1 = rnd([2, 3, 1, 16], 13);
    const t5 = cache.tables(5, 1);
    expectAgree((a) => applyRotation(a, t5.cos, t5.sin), [x1], (a) => applyRotationPlain(a, t5.cos, t5.sin));
  });

  it('rotation tables that carry a gradient take the plain path and get their gradient', () => {
    const x = rnd([1, 2, 4, 8], 14), c = tf.variable(rnd([4, 8], 15)), s = tf.variable(rnd([4, 8], 16));
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(applyRotation(a, b, d)))([x, c, s]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(applyRotationPlain(a, b, d)))([x, c, s]);
    for (let i = 0; i < 3; i++) expect(relErr(g[i]!, ref[i]!)).toBeLessThanOrEqual(TOL);
    expect(tf.sum(tf.abs(g[1]!)).dataSync()[0]).toBeGreaterThan(0);
  });
});
