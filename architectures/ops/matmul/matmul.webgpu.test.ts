// The subgroup matmul against tf.matMul with its own gradient on webgpu (values and gradients, 1e-4
// relative): 2-D and batched, every pair of transpose flags, a broadcast batch, sizes that are not
// multiples of the tile, and matMul2d (the layers' product). Where the device has no usable subgroups the
// kernel cannot run: the test says so and skips, and the fallback (tfjs-webgpu's matMul) is named.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { expect, it } from 'vitest';
import { rnd } from '../../../tests/agreement.ts';
import { countPrograms, describeOnWebgpu, expectAgreeOnWebgpu } from '../../../tests/webgpu-agreement.ts';
import { matMul, matMul2d } from './index.ts';
import { matmulWebgpuKernel } from './webgpu.ts';

const FLAGS = [[false, false], [false, true], [true, false], [true, true]] as const;

/** a [...lead, M, K] and b [...lead, K, N], each stored transposed where its flag says so. */
function operands(lead: number[], m: number, k: number, n: number, ta: boolean, tb: boolean, seed: number): [tf.Tensor, tf.Tensor] {
  return [rnd([...lead, ...(ta ? [k, m] : [m, k])], seed), rnd([...lead, ...(tb ? [n, k] : [k, n])], seed + 1)];
}

describeOnWebgpu('matmul: the subgroup WGSL kernel agrees with tf.matMul', () => {
  /** Skips the test, saying why, where the device cannot run the subgroup kernel. */
  const needSubgroups = (skip: (note: string) => void): void => {
    const kernel = matmulWebgpuKernel();
    if (!kernel.startsWith('subgroup')) {
      process.stderr.write(`the subgroup matmul is not tested here: ${kernel}\n`);
      skip(`no usable subgroups: ${kernel}`);
    }
  };

  it.for(FLAGS)('2-D [37, 33] x [33, 70], transposeA %s, transposeB %s', async ([ta, tb], { skip }) => {
    needSubgroups(skip);
    const [a, b] = operands([], 37, 33, 70, ta, tb, 1);
    const [runs] = await countPrograms(['matmul_subgroup'], () =>
      expectAgreeOnWebgpu(`matMul 2-D ta=${ta} tb=${tb}`, (x, y) => matMul(x!, y!, ta, tb), [a, b], (x, y) => tf.matMul(x!, y!, ta, tb)));
    expect(runs).toBe(4); // the forward (for the value and under the gradient) and both gradients ran the kernel
  });

  it.for(FLAGS)('batched [2, 3, 17, 9] x [2, 3, 9, 300] (two column blocks), transposeA %s, transposeB %s', async ([ta, tb], { skip }) => {
    needSubgroups(skip);
    const [a, b] = operands([2, 3], 17, 9, 300, ta, tb, 3);
    await expectAgreeOnWebgpu(`matMul batched ta=${ta} tb=${tb}`, (x, y) => matMul(x!, y!, ta, tb), [a, b], (x, y) => tf.matMul(x!, y!, ta, tb));
  });

  it('a batch against a matrix ([4, 5, 24] x [24, 40]: 20 rows in one product), a matrix against a batch, and matMul2d as the layers call it', async ({ skip }) => {
    needSubgroups(skip);
    const [folded] = await countPrograms(['matmul_subgroup'], () => expectAgreeOnWebgpu('matMul broadcast', (x, y) => matMul(x!, y!), [rnd([4, 5, 24], 5), rnd([24, 40], 6)],
                              (x, y) => tf.matMul(x!.reshape([20, 24]), y!).reshape([4, 5, 40]))); // tf.matMul's gradient does not sum a broadcast batch
    expect(folded).toBe(4);
    await expectAgreeOnWebgpu('matMul broadcast [20, 9] x [3, 9, 30]', (x, y) => matMul(x!, y!), [rnd([20, 9], 11), rnd([3, 9, 30], 12)],
                              (x, y) => tf.matMul(tf.broadcastTo(x!, [3, 20, 9]), y!)); // dA summed over the batch it was broadcast to
    const [runs] = await countPrograms(['matmul_subgroup'], () => expectAgreeOnWebgpu('matMul2d [130, 64] x [64, 192]',
      (x, y) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D), [rnd([130, 64], 7), rnd([64, 192], 8)], (x, y) => tf.matMul(x!, y!)));
    expect(runs).toBe(4);
  });

  it("leaves products of fewer than 16 rows (decoding's) to tfjs-webgpu's matMul", async ({ skip }) => {
    needSubgroups(skip);
    const [runs] = await countPrograms(['matmul_subgroup'], () =>
      expectAgreeOnWebgpu('matMul [15, 24] x [24, 40]', (x, y) => matMul(x!, y!), [rnd([15, 24], 9), rnd([24, 40], 10)], (x, y) => tf.matMul(x!, y!)));
    expect(runs).toBe(0);
  });

  it("names tfjs-webgpu's matMul, and why, on a device without subgroups", () => {
    const device = { features: new Set<string>(), adapterInfo: {} };
    expect(matmulWebgpuKernel({ device } as unknown as WebGPUBackend)).toBe("tfjs-webgpu's matMul (the device has no 'subgroups' feature)");
    const wide = { features: new Set(['subgroups']), adapterInfo: { subgroupMinSize: 128, subgroupMaxSize: 128 } };
    expect(matmulWebgpuKernel({ device: wide } as unknown as WebGPUBackend)).toMatch(/^tfjs-webgpu's matMul \(its subgroups \(128-128 wide\)/);
  });

  it('ARCHBENCH_WEBGPU_MATMUL=tfjs chooses tfjs-webgpu and says so (the product then runs no subgroup program); another value is refused', async () => {
    const device = { features: new Set(['subgroups']), adapterInfo: { subgroupMinSize: 8, subgroupMaxSize: 8 } };
    const before = process.env.ARCHBENCH_WEBGPU_MATMUL;
    try {
      process.env.ARCHBENCH_WEBGPU_MATMUL = 'tfjs';
      expect(matmulWebgpuKernel({ device } as unknown as WebGPUBackend)).toBe("tfjs-webgpu's matMul (ARCHBENCH_WEBGPU_MATMUL=tfjs)");
      const [runs] = await countPrograms(['matmul_subgroup'], () =>
        expectAgreeOnWebgpu('matMul [40, 24] x [24, 40], tfjs chosen', (x, y) => matMul(x!, y!), [rnd([40, 24], 11), rnd([24, 40], 12)], (x, y) => tf.matMul(x!, y!)));
      expect(runs).toBe(0);
      process.env.ARCHBENCH_WEBGPU_MATMUL = 'fast';
      expect(() => matmulWebgpuKernel({ device } as unknown as WebGPUBackend)).toThrow("ARCHBENCH_WEBGPU_MATMUL='fast': valid are subgroup (the default) and tfjs");
    } finally {
      if (before === undefined) delete process.env.ARCHBENCH_WEBGPU_MATMUL;
      else process.env.ARCHBENCH_WEBGPU_MATMUL = before;
    }
  });
});
