// The SwiGLU gate: the WGSL kernel against the reference on webgpu (values and gradients, 1e-4 relative),
// at sizes that are and are not multiples of the workgroup size.
import { expect, it } from 'vitest';
import { rnd } from '../../../tests/agreement.ts';
import { describeOnWebgpu, expectAgreeOnWebgpu, expectAgreeSplit } from '../../../tests/webgpu-agreement.ts';
import { siluGate } from './index.ts';
import { siluGatePlain } from './reference.ts';
import { siluGateWebgpu } from './webgpu.ts';

describeOnWebgpu('activation: the WGSL kernel agrees with the reference', () => {
  it.each([[[2, 7, 48]], [[5, 130]], [[3, 1026]]])('SwiGLU gate (silu(g) * u) %j', async (shape) => {
    const gu = rnd(shape, 6, 3), f = shape.at(-1)! / 2;
    expect(siluGateWebgpu(gu)).not.toBeNull(); // the kernel applies: the comparison below is not the reference twice
    await expectAgreeOnWebgpu(`siluGate ${JSON.stringify(shape)}`, (a) => siluGate(a!, f), [gu], (a) => siluGatePlain(a!, f));
  });

  it('rows split into dispatches that each bind within a forced small limit (gu [2, 11, 130] held to 4 rows)', async () => {
    const gu = rnd([2, 11, 130], 9, 3);
    const counts = await expectAgreeSplit('siluGate [2,11,130]', 4 * 130 * 4, ['swiglu_fwd', 'swiglu_bwd'], (a) => siluGate(a!, 65), [gu], (a) => siluGatePlain(a!, 65));
    expect(counts).toEqual([12, 6]); // ceil(22 / 4) dispatches a pass (the forward runs for the value and again under the gradient)
  });
});
