// RMSNorm on the webgpu backend, one workgroup per row, x: [N, D], weight w: [D] or none:
//   forward   r_i = 1 / sqrt(mean_j x_ij^2 + eps),  y_ij = x_ij r_i w_j
//   backward  dx_ij = r_i (dy_ij w_j - x_ij r_i^2 mean_k(dy_ik w_k x_ik))   (one pass, r_i recomputed)
//             dw_j  = sum_i dy_ij x_ij r_i   (r: [N] in one pass; then partial sums over blocks of rows)
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { rowHeaderWgsl, rowWorkgroupSize, runKernel, webgpuBackend, workgroupReduceWgsl } from '../webgpu-program.ts';

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

/** dw_j = sum_i dy_ij x_ij r_i: partial sums over blocks of DW_ROWS_PER_BLOCK rows, then their sum. */
function weightGradient(be: WebGPUBackend, dy: tf.Tensor, x: tf.Tensor2D, r: tf.Tensor): tf.Tensor {
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
  const dw = tf.sum(partial, 0);
  partial.dispose();
  return dw;
}

/** RMSNorm over the last axis of x (float32) on webgpu, weight [D] or null; null where it does not apply. */
export function rmsNormWebgpu(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor | null {
  const d = x.shape[x.rank - 1]!, n = x.size / d;
  if (x.dtype !== 'float32' || (weight && (weight.dtype !== 'float32' || weight.size !== d))) return null;
  const be = webgpuBackend(weight ? [x, weight] : [x], [n * d, Math.ceil(n / DW_ROWS_PER_BLOCK) * d]);
  if (!be) return null;
  const x2 = x.reshape([n, d]) as tf.Tensor2D;
  if (weight) {
    const w1 = weight.reshape([d]);
    const f = tf.customGrad(((xs: tf.Tensor2D, ws: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xs, ws]);
      return {
        value: forward(be, xs, ws, eps),
        gradFunc: (dy: tf.Tensor, [xg, wgt]: tf.Tensor[]) => {
          const r = rowRstd(be, xg as tf.Tensor2D, eps);
          const grads = [inputGradient(be, dy, xg as tf.Tensor2D, wgt!, eps), weightGradient(be, dy, xg as tf.Tensor2D, r)];
          r.dispose();
          return grads;
        },
      };
    }) as unknown as GradFunc);
    return (f(x2, w1) as tf.Tensor).reshape(x.shape);
  }
  const f = tf.customGrad(((xs: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([xs]);
    return { value: forward(be, xs, null, eps), gradFunc: (dy: tf.Tensor, [xg]: tf.Tensor[]) => [inputGradient(be, dy, xg as tf.Tensor2D, null, eps)] };
  }) as unknown as GradFunc);
  return (f(x2) as tf.Tensor).reshape(x.shape);
}
