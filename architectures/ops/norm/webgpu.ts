// RMSNorm on the webgpu backend, one workgroup per row, x: [N, D], weight w: [D] or none:
//   forward   r_i = 1 / sqrt(mean_j x_ij^2 + eps),  y_ij = x_ij r_i w_j
//   backward  dx_ij = r_i (dy_ij w_j - x_ij r_i^2 mean_k(dy_ik w_k x_ik))   (one pass, r_i recomputed)
//             dw_j  = sum_i dy_ij x_ij r_i   (r: [N] in one pass; then partial sums over blocks of rows)
// Rows are split into dispatches that each bind at most the device's maxStorageBufferBindingSize.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { overRowBlocks, rowHeaderWgsl, rowWorkgroupSize, runKernel, webgpuRows, workgroupReduceWgsl } from '../webgpu-program.ts';

/** Rows summed by one invocation of the weight-gradient kernel before the partial sums are added up. */
const DW_ROWS_PER_BLOCK = 256;

/** WGSL: r = 1 / sqrt(mean(x^2) + eps) of this workgroup's row (after rowHeaderWgsl). */
const ROW_RSTD = (wg: number) => `
  var squares = 0.0;
  for (var j = tid; j < cols; j += ${wg}) { let v = x[base + j]; squares += v * v; }
  let r = inverseSqrt(workgroupSum(squares) / f32(width) + uniforms.eps);`;

function forward(be: WebGPUBackend, x: tf.Tensor2D, w: tf.Tensor | null, eps: number): tf.Tensor {
  const [n, d] = x.shape, wg = rowWorkgroupSize(d);
  return runKernel(be, {
    key: `rmsnorm_fwd_${wg}_${w ? 'w' : 'plain'}`,
    inputs: w ? ['x', 'w'] : ['x'], outputShape: [n, d], workgroups: n, workgroupSize: wg,
    uniforms: 'eps : f32,', prelude: workgroupReduceWgsl(wg),
    body: `${rowHeaderWgsl('x', wg)}${ROW_RSTD(wg)}
  for (var j = tid; j < cols; j += ${wg}) { result[base + j] = x[base + j] * r${w ? ' * w[j]' : ''}; }`,
  }, w ? [x, w] : [x], [{ type: 'float32', data: [eps] }]);
}

function inputGradient(be: WebGPUBackend, dy: tf.Tensor, x: tf.Tensor2D, w: tf.Tensor | null, eps: number): tf.Tensor {
  const [n, d] = x.shape, wg = rowWorkgroupSize(d), gain = w ? ' * w[j]' : '';
  return runKernel(be, {
    key: `rmsnorm_dx_${wg}_${w ? 'w' : 'plain'}`,
    inputs: w ? ['x', 'dy', 'w'] : ['x', 'dy'], outputShape: [n, d], workgroups: n, workgroupSize: wg,
    uniforms: 'eps : f32,', prelude: workgroupReduceWgsl(wg),
    body: `${rowHeaderWgsl('x', wg)}
  var dots = 0.0;
  for (var j = tid; j < cols; j += ${wg}) { dots += dy[base + j]${gain} * x[base + j]; }
  let dot = workgroupSum(dots);${ROW_RSTD(wg)}
  let c = r * r * dot / f32(width);
  for (var j = tid; j < cols; j += ${wg}) { result[base + j] = r * (dy[base + j]${gain} - x[base + j] * c); }`,
  }, w ? [x, dy, w] : [x, dy], [{ type: 'float32', data: [eps] }]);
}

function rowRstd(be: WebGPUBackend, x: tf.Tensor2D, eps: number): tf.Tensor {
  const [n, d] = x.shape, wg = rowWorkgroupSize(d);
  return runKernel(be, {
    key: `rmsnorm_rstd_${wg}`, inputs: ['x'], outputShape: [n], workgroups: n, workgroupSize: wg,
    uniforms: 'eps : f32,', prelude: workgroupReduceWgsl(wg),
    body: `${rowHeaderWgsl('x', wg)}${ROW_RSTD(wg)}
  if (tid == 0 && row < n) { result[row] = r; }`,
  }, [x], [{ type: 'float32', data: [eps] }]);
}

/** dw_j = sum_i dy_ij x_ij r_i: the partial sums over blocks of DW_ROWS_PER_BLOCK rows, [blocks, D]. */
function weightGradientPartials(be: WebGPUBackend, dy: tf.Tensor, x: tf.Tensor2D, r: tf.Tensor): tf.Tensor {
  const [n, d] = x.shape, blocks = Math.ceil(n / DW_ROWS_PER_BLOCK), wg = 64;
  const partial = runKernel(be, {
    key: `rmsnorm_dw_${wg}_${DW_ROWS_PER_BLOCK}`, inputs: ['x', 'dy', 'r'], outputShape: [blocks, d],
    workgroups: Math.ceil((blocks * d) / wg), workgroupSize: wg,
    body: `
  let n = uniforms.xShape[0];
  let d = uniforms.xShape[1];
  if (index >= uniforms.outShape[0] * d) { return; }
  let block = index / d;
  let j = index % d;
  let last = min(n, (block + 1) * ${DW_ROWS_PER_BLOCK});
  var sum = 0.0;
  for (var i = block * ${DW_ROWS_PER_BLOCK}; i < last; i++) { sum += dy[i * d + j] * x[i * d + j] * r[i]; }
  result[index] = sum;`,
  }, [x, dy, r]);
  return partial;
}

/** dx and the partial sums of dw for one block of rows. */
function gradients(be: WebGPUBackend, dy: tf.Tensor, x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor[] {
  const r = rowRstd(be, x, eps);
  const grads = [inputGradient(be, dy, x, w, eps), weightGradientPartials(be, dy, x, r)];
  r.dispose();
  return grads;
}

/** RMSNorm over the last axis of x (float32) on webgpu, weight [D] or null; null where it does not apply. */
export function rmsNormWebgpu(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor | null {
  const d = x.shape[x.rank - 1]!, n = x.size / d;
  if (x.dtype !== 'float32' || (weight && (weight.dtype !== 'float32' || weight.size !== d))) return null;
  const plan = webgpuRows(weight ? [x, weight] : [x], d); // x, dy, y, dx: [rows, D]; w, dw partials smaller
  if (!plan) return null;
  const { be, rowsPerDispatch } = plan;
  const byRows = (rowed: tf.Tensor[], kernel: (...blocks: tf.Tensor[]) => tf.Tensor[]) => overRowBlocks(rowsPerDispatch, rowed, kernel);
  const x2 = x.reshape([n, d]) as tf.Tensor2D;
  if (weight) {
    const w1 = weight.reshape([d]);
    const f = tf.customGrad(((xs: tf.Tensor2D, ws: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xs, ws]);
      return {
        value: byRows([xs], (xb) => [forward(be, xb as tf.Tensor2D, ws, eps)])[0]!,
        gradFunc: (dy: tf.Tensor, [xg, wgt]: tf.Tensor[]) => {
          const [dx, partials] = byRows([xg!, dy], (xb, dyb) => gradients(be, dyb!, xb as tf.Tensor2D, wgt!, eps));
          const dw = tf.sum(partials!, 0);
          partials!.dispose();
          return [dx!, dw];
        },
      };
    }) as unknown as GradFunc);
    return (f(x2, w1) as tf.Tensor).reshape(x.shape);
  }
  const f = tf.customGrad(((xs: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([xs]);
    return {
      value: byRows([xs], (xb) => [forward(be, xb as tf.Tensor2D, null, eps)])[0]!,
      gradFunc: (dy: tf.Tensor, [xg]: tf.Tensor[]) => byRows([xg!, dy], (xb, dyb) => [inputGradient(be, dyb!, xb as tf.Tensor2D, null, eps)]),
    };
  }) as unknown as GradFunc);
  return (f(x2) as tf.Tensor).reshape(x.shape);
}
