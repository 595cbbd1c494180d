// RMSNorm: the WGSL kernel against the reference on webgpu (values and gradients, 1e-4 relative), at widths
// that are and are not multiples of the workgroup size, with and without a weight.
import { expect, it } from 'vitest';
import { rnd } from '../../../tests/agreement.ts';
import { describeOnWebgpu, expectAgreeOnWebgpu, expectAgreeSplit, relErrAsync, WEBGPU_TOL } from '../../../tests/webgpu-agreement.ts';
import { rmsNorm } from './index.ts';
import { rmsNormPlain } from './reference.ts';
import { rmsNormWebgpu } from './webgpu.ts';

describeOnWebgpu('norm: the WGSL kernel agrees with the reference', () => {
  it.each([[[2, 9, 32]], [[3, 77]], [[5, 300]], [[2, 4100]]])('rmsNorm %j with and without a weight', async (shape) => {
    const d = shape.at(-1)!, x = rnd(shape, 4), g = rnd([d], 5);
    expect(rmsNormWebgpu(x, g, 1e-6)).not.toBeNull(); // the kernel applies: the comparison below is not the reference twice
    await expectAgreeOnWebgpu(`rmsNorm ${JSON.stringify(shape)} weighted`, (a, b) => rmsNorm(a!, b!, 1e-6), [x, g], (a, b) => rmsNormPlain(a!, b!, 1e-6));
    await expectAgreeOnWebgpu(`rmsNorm ${JSON.stringify(shape)} plain`, (a) => rmsNorm(a!, null, 1e-5), [x], (a) => rmsNormPlain(a!, null, 1e-5));
  });

  it('more rows than one dispatch dimension holds (65535 workgroups): folded into two, every row normed once', async () => {
    const x = rnd([65537, 2], 6), y = rmsNormWebgpu(x, null, 1e-5);
    expect(y).not.toBeNull();
    const err = await relErrAsync(y!, rmsNormPlain(x, null, 1e-5));
    process.stderr.write(`webgpu rmsNorm [65537,2] plain: relative error value ${err.toExponential(1)}\n`);
    expect(err).toBeLessThanOrEqual(WEBGPU_TOL);
  });

  it('rows split into dispatches that each bind within a forced small limit (x [37, 300] held to 8 rows)', async () => {
    const x = rnd([37, 300], 7), g = rnd([300], 8), limit = 8 * 300 * 4;
    const counts = await expectAgreeSplit('rmsNorm [37,300] weighted', limit, ['rmsnorm_fwd', 'rmsnorm_dx', 'rmsnorm_dw'],
                                          (a, b) => rmsNorm(a!, b!, 1e-6), [x, g], (a, b) => rmsNormPlain(a!, b!, 1e-6));
    expect(counts).toEqual([10, 5, 5]); // ceil(37 / 8) dispatches a pass (the forward runs for the value and again under the gradient)
    const plain = await expectAgreeSplit('rmsNorm [37,300] plain', limit, ['rmsnorm_fwd', 'rmsnorm_dx'],
                                         (a) => rmsNorm(a!, null, 1e-5), [x], (a) => rmsNormPlain(a!, null, 1e-5));
    expect(plain).toEqual([10, 5]);
  });
});
