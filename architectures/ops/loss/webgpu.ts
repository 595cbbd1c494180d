// Softmax cross-entropy on the webgpu backend, one workgroup per row, logits z: [N, V], targets t: [N] int32:
//   forward   nll_i = m_i + log sum_j exp(z_ij - m_i) - z_i,t_i,   m_i = max_j z_ij      nll: [N]
//   backward  dz_ij = (softmax(z_i)_j - [j = t_i]) dnll_i                                dz: [N, V]
// The backward pass recomputes the row's max and sum instead of keeping softmax(z) ([N, V]) from the forward.
// A target outside [0, V) scores NaN and adds no one-hot term. Rows are split into dispatches that each bind
// at most the device's maxStorageBufferBindingSize.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { overRowBlocks, rowHeaderWgsl, rowWorkgroupSize, runKernel, webgpuRows, workgroupReduceWgsl } from '../webgpu-program.ts';

/** WGSL: this workgroup's row; its max m and sum of exp(z - m) (every invocation gets both). */
const ROW_SOFTMAX = (wg: number) => `
${rowHeaderWgsl('z', wg)}
  var localMax = -uniforms.INFINITY;
  for (var j = tid; j < cols; j += ${wg}) { localMax = max(localMax, z[base + j]); }
  let m = workgroupMax(localMax);
  var localSum = 0.0;
  for (var j = tid; j < cols; j += ${wg}) { localSum += exp(z[base + j] - m); }
  let total = workgroupSum(localSum);
  let label = select(-1, targets[min(row, n - 1)], row < n);`;

function forward(be: WebGPUBackend, z: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor {
  const [n, v] = z.shape, wg = rowWorkgroupSize(v);
  return runKernel(be, {
    key: `xent_fwd_${wg}`, inputs: ['z', 'targets'], outputShape: [n], workgroups: n, workgroupSize: wg,
    prelude: workgroupReduceWgsl(wg),
    body: `${ROW_SOFTMAX(wg)}
  if (tid == 0 && row < n) {
    result[row] = select(uniforms.NAN, m + log(total) - z[base + clamp(label, 0, width - 1)], label >= 0 && label < width);
  }`,
  }, [z, targets]);
}

function backward(be: WebGPUBackend, dnll: tf.Tensor, z: tf.Tensor2D, targets: tf.Tensor): tf.Tensor {
  const [n, v] = z.shape, wg = rowWorkgroupSize(v);
  return runKernel(be, {
    key: `xent_bwd_${wg}`, inputs: ['z', 'targets', 'dnll'], outputShape: [n, v], workgroups: n, workgroupSize: wg,
    prelude: workgroupReduceWgsl(wg),
    body: `${ROW_SOFTMAX(wg)}
  let grad = select(0.0, dnll[min(row, n - 1)], row < n);
  for (var j = tid; j < cols; j += ${wg}) {
    result[base + j] = (exp(z[base + j] - m) / total - select(0.0, 1.0, j == label)) * grad;
  }`,
  }, [z, targets, dnll]);
}

/** Per-row negative log-likelihood of logits [N, V] (float32) at targets [N] (int32) on webgpu; null where it does not apply. */
export function crossEntropyWebgpu(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  const [n, v] = logits.shape;
  if (logits.dtype !== 'float32' || targets.dtype !== 'int32' || targets.size !== n) return null;
  const plan = webgpuRows([logits, targets], v); // z, dz: [rows, V]; targets, nll, dnll: [rows]
  if (!plan) return null;
  const byRows = (rowed: tf.Tensor[], kernel: (...blocks: tf.Tensor[]) => tf.Tensor[]) => overRowBlocks(plan.rowsPerDispatch, rowed, kernel);
  const f = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([z, targets]);
    return {
      value: byRows([z, targets], (zb, tb) => [forward(plan.be, zb as tf.Tensor2D, tb as tf.Tensor1D)])[0]!,
      gradFunc: (dnll: tf.Tensor, [zs, ts]: tf.Tensor[]) => byRows([zs!, ts!, dnll], (zb, tb, db) => [backward(plan.be, db!, zb as tf.Tensor2D, tb!)]),
    };
  }) as unknown as GradFunc);
  return f(logits) as tf.Tensor1D;
}
