// The SwiGLU gate: the wasm kernel against the reference, alone and inside the FFN, on both CPU backends.
import { it } from 'vitest';
import { describeOnCpuBackends, expectAgree, rnd } from '../../../tests/agreement.ts';
import { swiglu } from '../../layers.ts';
import { siluGate } from './index.ts';
import { siluGatePlain } from './reference.ts';

describeOnCpuBackends('activation: the wasm kernel agrees with the reference (values and gradients, 1e-5 relative)', () => {
  it('SwiGLU gate (silu(g) * u) and the whole FFN', () => {
    const gu = rnd([2, 7, 48], 6);
    expectAgree((a) => siluGate(a, 24), [gu], (a) => siluGatePlain(a, 24));
    const x = rnd([2, 7, 16], 7), w1 = rnd([16, 48], 8, 0.3), w2 = rnd([24, 16], 9, 0.3);
    expectAgree((a, b, c) => swiglu(a, b, c), [x, w1, w2]);
  });
});
