// The webgpu kernels' gate: on webgpu a kernel applies only while every buffer it binds (inputs and outputs)
// fits the device's maxStorageBufferBindingSize; one element more and the dispatcher takes the reference.
import type * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { describeOnWebgpu } from '../../tests/webgpu-agreement.ts';
import { setFastPath } from './fast-path.ts';
import { maxBoundElements, webgpuBackend } from './webgpu-program.ts';

/** What the gate reads of a tensor (its size and dtype), without allocating one at the device's limit. */
const sized = (size: number, dtype = 'float32') => ({ size, dtype }) as unknown as tf.Tensor;

describeOnWebgpu('the webgpu kernels\' gate', () => {
  it('takes buffers up to maxStorageBufferBindingSize and refuses one element more, inputs and outputs', () => {
    const be = webgpuBackend([], []);
    expect(be).not.toBeNull();
    const limit = maxBoundElements(be!);
    expect(limit * 4).toBeLessThanOrEqual(be!.device.limits.maxStorageBufferBindingSize);
    expect(webgpuBackend([sized(limit), sized(limit, 'int32')], [limit])).toBe(be);
    expect(webgpuBackend([sized(limit + 1)], [])).toBeNull();
    expect(webgpuBackend([sized(8)], [8, limit + 1])).toBeNull();
    expect(webgpuBackend([sized(8, 'bool')], [8])).toBeNull();
    setFastPath(false);
    expect(webgpuBackend([sized(8)], [8])).toBeNull();
  });
});
