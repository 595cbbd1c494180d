// Softmax attention and the head split/merge: the wasm kernels against the references (causal, windowed,
// unmasked, KV-cache, single-query and general masks; query blocks past T = 32), masks that carry a
// gradient, and LeX's blocks against the block rule as a mask table, on both CPU backends.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { TOL, describeOnCpuBackends, expectAgree, relErr, rnd } from '../../../tests/agreement.ts';
import { causalAttend } from '../../attention.ts';
import { causalMask } from '../../layers.ts';
import { attend, attendBlocks, mergeHeads, splitHeads } from './index.ts';
import { attendPlain, mergeHeadsPlain, splitHeadsPlain } from './reference.ts';

describeOnCpuBackends('attention: the wasm kernels agree with the references (values and gradients, 1e-5 relative)', () => {
  it('split/merge heads', () => {
    const x = rnd([2, 5, 12], 17);
    expectAgree((a) => splitHeads(a, 3), [x], (a) => splitHeadsPlain(a, 3));
    const y = rnd([2, 3, 5, 4], 18);
    expectAgree((a) => mergeHeads(a), [y], (a) => mergeHeadsPlain(a));
  });

  it('attention: causal, windowed, no mask, a KV cache (T < S), one query, and a general mask', () => {
    const q = rnd([2, 3, 9, 8], 19), k = rnd([2, 3, 9, 8], 20), v = rnd([2, 3, 9, 6], 21);
    const scale = 1 / Math.sqrt(8);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(9, 9)));
    expectAgree((a, b, c) => causalAttend(a, b, c, scale, 4), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(9, 9, 4)));
    expectAgree((a, b, c) => attend(a, b, c, scale, null), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const q2 = rnd([2, 3, 4, 8], 22);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q2, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(4, 9)));
    const q1 = rnd([2, 3, 1, 8], 23);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q1, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const m = rnd([9, 9], 24);
    expectAgree((a, b, c) => attend(a, b, c, scale, m), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, m));
  });

  it('attention in query blocks that skip masked keys (T > 32): causal, windowed, offset, no mask', () => {
    const q = rnd([1, 2, 70, 16], 40), k = rnd([1, 2, 70, 16], 41), v = rnd([1, 2, 70, 8], 42);
    const scale = 0.25;
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(70, 70)));
    expectAgree((a, b, c) => causalAttend(a, b, c, scale, 20), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(70, 70, 20)));
    expectAgree((a, b, c) => attend(a, b, c, scale, null), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const q2 = rnd([1, 2, 40, 16], 43);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q2, k, v], (a, b, c) => attendPlain(a, b, c, scale, causalMask(40, 70)));
  });

  it('LeX blocks (k for the own block, kPrev for the previous one) follow the block rule: keys max(0, (floor(i/b) - 1) b) .. i', () => {
    const [t, b, scale] = [23, 5, 0.4];
    const q = rnd([2, 2, t, 8], 44), k = rnd([2, 2, t, 8], 45), v = rnd([2, 2, t, 6], 46);
    const rule = new Float32Array(t * t).map((_, e) => {
      const [i, j] = [Math.floor(e / t), e % t];
      return j <= i && j >= Math.max(0, (Math.floor(i / b) - 1) * b) ? 0 : -1e9;
    });
    const mask = tf.tensor2d(rule, [t, t]);
    // with kPrev = k the rule is a mask table over plain attention
    expectAgree((a, c, d) => attendBlocks(a, c, c, d, scale, b), [q, k, v], (a, c, d) => attendPlain(a, c, d, scale, mask));
    mask.dispose();
  });

  it('attention with a mask that carries a gradient takes the plain path', () => {
    const q = rnd([1, 2, 5, 4], 25), k = rnd([1, 2, 5, 4], 26), v = rnd([1, 2, 5, 4], 27), m = tf.variable(rnd([5, 5], 28));
    const g = tf.grads((a: tf.Tensor) => tf.sum(attend(q, k, v, 0.5, a)))([m]);
    const ref = tf.grads((a: tf.Tensor) => tf.sum(attendPlain(q, k, v, 0.5, a)))([m]);
    expect(relErr(g[0]!, ref[0]!)).toBeLessThanOrEqual(TOL);
  });
});
