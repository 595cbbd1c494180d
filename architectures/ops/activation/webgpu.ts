// The SwiGLU gate on the webgpu backend, one invocation per output element, gu = [g | u]: [N, 2F]:
//   forward   y = silu(g) * u = g sigma(g) u                                   y: [N, F]
//   backward  dg = dy u sigma(g) (1 + g (1 - sigma(g))),  du = dy g sigma(g)   d(gu) = [dg | du]: [N, 2F]
// Rows are split into dispatches that each bind at most the device's maxStorageBufferBindingSize.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { overRowBlocks, runKernel, webgpuRows } from '../webgpu-program.ts';

const WORKGROUP = 64;

/** WGSL: this invocation's row and column of the [N, F] output; g, u and sigma(g) there. */
const GATE_HEADER = `
  let f = uniforms.guShape[1] / 2;
  if (index >= uniforms.guShape[0] * f) { return; }
  let row = index / f;
  let at = row * 2 * f + index % f;
  let g = gu[at];
  let u = gu[at + f];
  let s = 1.0 / (1.0 + exp(-g));`;

function forward(be: WebGPUBackend, gu: tf.Tensor2D): tf.Tensor {
  const [n, w2] = gu.shape, units = (n * w2) / 2;
  return runKernel(be, {
    key: 'swiglu_fwd', inputs: ['gu'], outputShape: [n, w2 / 2], workgroups: Math.ceil(units / WORKGROUP), workgroupSize: WORKGROUP,
    body: `${GATE_HEADER}
  result[index] = g * s * u;`,
  }, [gu]);
}

function backward(be: WebGPUBackend, dy: tf.Tensor, gu: tf.Tensor2D): tf.Tensor {
  const [n, w2] = gu.shape, units = (n * w2) / 2;
  return runKernel(be, {
    key: 'swiglu_bwd', inputs: ['gu', 'dy'], outputShape: [n, w2], workgroups: Math.ceil(units / WORKGROUP), workgroupSize: WORKGROUP,
    body: `${GATE_HEADER}
  let grad = dy[index];
  result[at] = grad * u * s * (1.0 + g * (1.0 - s));
  result[at + f] = grad * g * s;`,
  }, [gu, dy]);
}

/** silu(g) * u for gu = [g | u] on the last axis (float32) on webgpu; null where it does not apply. */
export function siluGateWebgpu(gu: tf.Tensor): tf.Tensor | null {
  const w2 = gu.shape[gu.rank - 1]!, n = gu.size / w2;
  if (gu.dtype !== 'float32' || w2 % 2 !== 0) return null;
  const plan = webgpuRows([gu], w2); // gu, d(gu): [rows, 2F]; y, dy: [rows, F]
  if (!plan) return null;
  const { be, rowsPerDispatch } = plan;
  const f = tf.customGrad(((a: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([a]);
    return {
      value: overRowBlocks(rowsPerDispatch, [a], (ab) => [forward(be, ab as tf.Tensor2D)])[0]!,
      gradFunc: (dy: tf.Tensor, [as]: tf.Tensor[]) => overRowBlocks(rowsPerDispatch, [as!, dy], (ab, dyb) => [backward(be, dyb!, ab as tf.Tensor2D)]),
    };
  }) as unknown as GradFunc);
  return (f(gu.reshape([n, w2])) as tf.Tensor).reshape([...gu.shape.slice(0, -1), w2 / 2]);
}
