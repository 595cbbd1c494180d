// Fused causal attention on webgpu (FlashAttention-style, webgpu-wgsl.ts): softmax(q k^T * scale + mask) v
// for the structured masks (causal with the KV-cache offset S - T, an optional sliding window, or none)
// without a T x S score matrix, and its gradient in WGSL from the saved log-sum-exp L:
//   forward  O [B,H,T,Dv], L [B,H,T];  backward D = rowsum(dO * O), then dQ, and dK|dV per head group.
// q [B,H,T,Dh], k [B,Hk,S,Dh], v [B,Hv,S,Dv] with Hk, Hv dividing H (grouped KV: query head h reads key
// head floor(h / (H/Hk)) and value head floor(h / (H/Hv))). Outputs go in dispatches over (batch x head)
// rows that each bind less than the device's maxStorageBufferBindingSize (webgpu-plan.ts).
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { fastPathEnabled } from '../fast-path.ts';
import { type AttentionShape, type Dispatch, type Kernel, headGroups, planAttention } from './webgpu-plan.ts';
import { fusedProgram, tileRows } from './webgpu-wgsl.ts';

/** Which keys each query sees: causal (with offset S - T, and a window of keys when window > 0) or all. */
export interface MaskStructure { causal: boolean; window: number }

function attentionShape(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): AttentionShape | null {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) return null;
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return null;
  const [batch, heads, queries, headDim] = q.shape as number[];
  const [bk, keyHeads, keys, dk] = k.shape as number[];
  const [bv, valueHeads, sv, valueDim] = v.shape as number[];
  if (bk !== batch || bv !== batch || sv !== keys || dk !== headDim || !queries || !keys) return null;
  if (heads! % keyHeads! || heads! % valueHeads!) return null;
  return { batch: batch!, heads: heads!, keyHeads: keyHeads!, valueHeads: valueHeads!, queries: queries!, keys: keys!, headDim: headDim!, valueDim: valueDim! };
}

/** Run `kernel` over the plan's dispatches; each output [count, length, width] is cut into column blocks. */
function runDispatches(be: WebGPUBackend, kernel: Kernel, dispatches: Dispatch[], inputs: tf.Tensor[], length: number,
  uniforms: (first: number) => { type: string; data: number[] }[], tile: number, columns: number[]): tf.Tensor[] {
  const [dh, dv] = [inputs[0]!.shape[3]!, inputs[2]!.shape[3]!];
  const blocks: tf.Tensor[][] = columns.map(() => []);
  for (const d of dispatches.filter((x) => x.kernel === kernel)) {
    const info = be.runWebGPUProgram(fusedProgram(kernel, { dh, dv, tile }, d.count, length), inputs, 'float32', uniforms(d.first));
    const packed = tf.engine().makeTensorFromTensorInfo(info);
    const parts = columns.length === 1 ? [packed] : tf.split(packed, columns, 2);
    parts.forEach((p, i) => blocks[i]!.push(p));
  }
  return blocks.map((b) => (b.length === 1 ? b[0]! : tf.concat(b, 0)));
}

/**
 * The fused kernel where it applies (webgpu, fast paths on, float32, KV heads dividing the query heads,
 * every input within the binding limit), else null. bindingLimit: the device's maxStorageBufferBindingSize
 * unless given (tests give a lower one to split small shapes over several dispatches).
 */
export function attendFusedWebgpu(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: MaskStructure, bindingLimit?: number): tf.Tensor4D | null {
  if (!fastPathEnabled() || tf.getBackend() !== 'webgpu') return null;
  const shape = attentionShape(q, k, v);
  if (!shape) return null;
  const be = tf.backend() as unknown as WebGPUBackend;
  const plan = planAttention(shape, Math.min(bindingLimit ?? Infinity, be.device.limits.maxStorageBufferBindingSize));
  if (!plan) return null;
  const { batch: b, heads: h, queries: t, keys: s, headDim: dh, valueDim: dv, keyHeads, valueHeads } = shape;
  const groups = headGroups(shape)!;
  const storage = be.device.limits.maxComputeWorkgroupStorageSize;
  const keyTile = tileRows('forward', dh, dv, storage), queryTile = tileRows('dkdv', dh, dv, storage);
  const uniforms = (first: number) => [
    ...[t, s, h, keyHeads, valueHeads, groups, mask.causal ? 1 : 0, s - t, mask.window, first].map((x) => ({ type: 'int32', data: [x] })),
    { type: 'float32', data: [scale] },
  ];

  const fused = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    const [o, lse] = runDispatches(be, 'forward', plan, [qs, ks, vs], t, uniforms, keyTile, [dv, 1]);
    const out = o!.reshape([b, h, t, dv]);
    save([qs, ks, vs, out, lse!]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, so, sl] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const delta = tf.sum(tf.mul(dy, so), -1);
        const inputs = [sq, sk, sv, dy, sl, delta];
        const [dq] = runDispatches(be, 'dq', plan, inputs, t, uniforms, keyTile, [dh]);
        const [dkGroups, dvGroups] = runDispatches(be, 'dkdv', plan, inputs, s, uniforms, queryTile, [dh, dv]);
        // groups g of one key (value) head are consecutive: sum them
        const dk = dkGroups!.reshape([b, keyHeads, groups / keyHeads, s, dh]).sum(2);
        const dvv = dvGroups!.reshape([b, valueHeads, groups / valueHeads, s, dv]).sum(2);
        return [dq!.reshape(sq.shape), dk, dvv];
      }),
    };
  }) as GradFunc);
  return fused(q, k, v) as tf.Tensor4D;
}
