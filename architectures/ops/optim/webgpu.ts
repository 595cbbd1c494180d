// The optim family on the webgpu backend: one AdamW step (reference.ts's update) over one flat float32
// vector as one WGSL kernel, one invocation per element i, the state held as wmv = [w | m | v]: [3, n]:
//   g_i = gradScale * grad_i
//   m_i <- beta1 m_i + (1 - beta1) g_i,   v_i <- beta2 v_i + (1 - beta2) g_i^2
//   w_i <- w_i (1 - lr lambda_i) - (lr / (1 - beta1^t)) m_i / (sqrt(v_i / (1 - beta2^t)) + 1e-8)
// lambda_i is the weight decay where i lies in one of the decayed ranges, else 0. The step writes a new
// [3, n] tensor (the inputs are left as they are). A state too large for one binding of the device
// (3 n float32 > maxStorageBufferBindingSize) is refused: the caller splits the vector into pieces of at
// most adamwWebgpuMaxElements() elements, one state each.
import * as tf from '@tensorflow/tfjs';
import { maxBoundElements, runKernel, webgpuBackend } from '../webgpu-program.ts';

/** AdamW's constants over the whole vector. */
export interface AdamWConfig {
  beta1: number;
  beta2: number;
  /** Decoupled weight decay of the elements in the decayed ranges. */
  weightDecay: number;
}

/** One flat vector's weights and moments on webgpu, and where weight decay applies. */
export interface AdamWWebgpuState {
  /** Rows w, m, v: [3, n]. */
  wmv: tf.Tensor2D;
  /** Sorted bounds a0, b0, a1, b1, ... of the decayed ranges [a, b) (int32; [n, n] when none). */
  decayBounds: tf.Tensor1D;
  /** Steps taken (bias correction counts from 1). */
  t: number;
}

const WORKGROUP = 64;

/** The most elements one state may hold on the active webgpu device (0 elsewhere). */
export function adamwWebgpuMaxElements(): number {
  const be = webgpuBackend([], []);
  return be ? Math.floor(maxBoundElements(be) / 3) : 0;
}

/**
 * A state for weights w [n] with decay on the sorted, disjoint ranges [a, b): fresh (zero moments, step 0),
 * or with the moments m, v [n] and step t of a checkpoint.
 */
export function adamwWebgpuState(w: tf.Tensor1D, decayedRanges: [number, number][], from?: { m: Float32Array; v: Float32Array; t: number }): AdamWWebgpuState {
  const n = w.size, bounds = decayedRanges.length ? decayedRanges.flat() : [n, n];
  if (from && (from.m.length !== n || from.v.length !== n)) throw new Error(`moments of ${from.m.length} and ${from.v.length} elements for ${n} weights`);
  const moments = () => (from ? tf.concat([tf.tensor1d(from.m), tf.tensor1d(from.v)]) : tf.zeros([2 * n]));
  return tf.tidy(() => ({ wmv: tf.concat([w, moments()]).reshape([3, n]) as tf.Tensor2D, decayBounds: tf.tensor1d(bounds, 'int32'), t: from?.t ?? 0 }));
}

/** One AdamW step from the gradient [n] scaled by gradScale; the next state, or null where the kernel does not apply. */
export function adamwWebgpu(state: AdamWWebgpuState, grad: tf.Tensor1D, lr: number, gradScale: number, c: AdamWConfig): AdamWWebgpuState | null {
  const n = grad.size;
  if (grad.dtype !== 'float32' || state.wmv.shape[1] !== n) return null;
  const be = webgpuBackend([state.wmv, grad, state.decayBounds], [3 * n]);
  if (!be) return null;
  const t = state.t + 1;
  const values = [c.beta1, c.beta2, 1 - c.beta1, 1 - c.beta2, gradScale, lr / (1 - c.beta1 ** t), 1 / (1 - c.beta2 ** t), 1 - lr * c.weightDecay];
  const wmv = runKernel(be, {
    key: 'adamw_flat', inputs: ['wmv', 'grad', 'decayBounds'], outputShape: [3, n], workgroups: Math.ceil(n / WORKGROUP), workgroupSize: WORKGROUP,
    uniforms: 'beta1 : f32, beta2 : f32, oneMinusBeta1 : f32, oneMinusBeta2 : f32, gradScale : f32, stepSize : f32, invBiasCorrection2 : f32, decayKeep : f32,',
    body: `
  let n = uniforms.gradShape;
  if (index >= n) { return; }
  var lo = 0;
  var hi = uniforms.decayBoundsShape;
  while (lo < hi) {
    let mid = (lo + hi) / 2;
    if (decayBounds[mid] <= index) { lo = mid + 1; } else { hi = mid; }
  }
  let keep = select(1.0, uniforms.decayKeep, (lo & 1) == 1);
  let g = grad[index] * uniforms.gradScale;
  let m = wmv[n + index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
  let v = wmv[2 * n + index] * uniforms.beta2 + g * g * uniforms.oneMinusBeta2;
  result[index] = wmv[index] * keep - uniforms.stepSize * m / (sqrt(v * uniforms.invBiasCorrection2) + 1e-8);
  result[n + index] = m;
  result[2 * n + index] = v;`,
  }, [state.wmv, grad, state.decayBounds], values.map((x) => ({ type: 'float32', data: [x] })));
  return { wmv: wmv as tf.Tensor2D, decayBounds: state.decayBounds, t };
}
