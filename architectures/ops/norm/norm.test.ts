// RMSNorm: the wasm kernel against the reference, on both CPU backends.
import { it } from 'vitest';
import { describeOnCpuBackends, expectAgree, rnd } from '../../../tests/agreement.ts';
import { rmsNorm } from './index.ts';
import { rmsNormPlain } from './reference.ts';

describeOnCpuBackends('norm: the wasm kernel agrees with the reference (values and gradients, 1e-5 relative)', () => {
  it('rmsNorm with and without a weight', () => {
    const x = rnd([2, 9, 32], 4), g = rnd([32], 5);
    expectAgree((a, b) => rmsNorm(a, b, 1e-6), [x, g], (a, b) => rmsNormPlain(a, b, 1e-6));
    expectAgree((a) => rmsNorm(a, null, 1e-5), [x], (a) => rmsNormPlain(a, null, 1e-5));
  });
});
