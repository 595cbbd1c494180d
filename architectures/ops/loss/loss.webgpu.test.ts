// The per-token loss: the WGSL cross-entropy against the reference on webgpu (values and gradients, 1e-4
// relative), at vocabularies that are and are not multiples of the workgroup size, and a target whose
// probability underflows.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { rnd } from '../../../tests/agreement.ts';
import { describeOnWebgpu, expectAgreeOnWebgpu, expectAgreeSplit } from '../../../tests/webgpu-agreement.ts';
import { tokenNll } from './index.ts';
import { tokenNllPlain } from './reference.ts';
import { crossEntropyWebgpu } from './webgpu.ts';

describeOnWebgpu('loss: the WGSL kernel agrees with the reference', () => {
  it.each([[3, 5, 256], [2, 3, 77], [1, 4, 5000]])('cross-entropy [%i, %i, %i] vs logSoftmax * oneHot', async (b, t, v) => {
    const z = rnd([b, t, v], 29, 3);
    const targets = tf.tensor2d(Array.from({ length: b * t }, (_, i) => (i * 37) % v), [b, t], 'int32');
    expect(crossEntropyWebgpu(z.reshape([b * t, v]), targets.reshape([b * t]))).not.toBeNull(); // the kernel applies
    await expectAgreeOnWebgpu(`tokenNll [${b},${t},${v}]`, (a) => tokenNll(a as tf.Tensor3D, targets), [z],
                              (a) => tokenNllPlain(a as tf.Tensor3D, targets));
  });

  it('a target whose probability underflows float32 is scored exactly (logsumexp - z)', async () => {
    const nll = tokenNll(tf.tensor3d([[[200, 0, -200, 5]]]), tf.tensor2d([[2]], [1, 1], 'int32'));
    expect((await nll.data())[0]).toBeCloseTo(400, 3);
  });

  it('rows split into dispatches that each bind within a forced small limit (logits [3, 7, 500] held to 5 rows)', async () => {
    const z = rnd([3, 7, 500], 31, 3);
    const targets = tf.tensor2d(Array.from({ length: 21 }, (_, i) => (i * 53) % 500), [3, 7], 'int32');
    const counts = await expectAgreeSplit('tokenNll [3,7,500]', 5 * 500 * 4, ['xent_fwd', 'xent_bwd'], (a) => tokenNll(a as tf.Tensor3D, targets), [z],
                                          (a) => tokenNllPlain(a as tf.Tensor3D, targets));
    expect(counts).toEqual([10, 5]); // ceil(21 / 5) dispatches a pass (the forward runs for the value and again under the gradient)
  });
});
