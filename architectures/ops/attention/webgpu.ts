// Fused causal attention on webgpu (FlashAttention-style, webgpu-wgsl.ts): softmax(q k^T * scale + mask) v
// for the structured masks (causal with the KV-cache offset S - T, an optional sliding window, LeX's
// blocks, or none) without a T x S score matrix, and its gradient in WGSL from the saved log-sum-exp L:
//   forward  O [B,H,T,Dv], L [B,H,T];  backward D = rowsum(dO * O), then dQ, and dK|dV per head group.
// q [B,H,T,Dh], k [B,Hk,S,Dh], v [B,Hv,S,Dv] with Hk, Hv dividing H (grouped KV: query head h reads key
// head floor(h / (H/Hk)) and value head floor(h / (H/Hv))). Outputs go in dispatches over (batch x head)
// rows that each bind less than the device's maxStorageBufferBindingSize (webgpu-plan.ts).
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { fastPathEnabled } from '../fast-path.ts';
import { type AttentionShape, type Dispatch, type Kernel, headGroups, planAttention } from './webgpu-plan.ts';
import { type ProgramDims, fusedProgram, tileRows } from './webgpu-wgsl.ts';

/**
 * Which keys each query sees: causal (with offset S - T, and a window of keys when window > 0, or LeX's
 * blocks of `block` > 0 keys) or all.
 */
export interface MaskStructure { causal: boolean; window: number; block?: number }

/** The shapes the kernels take (float32, rank 4, KV heads dividing the query heads), else null. */
export function attentionShape(q: tf.Tensor, keys: tf.Tensor[], v: tf.Tensor): AttentionShape | null {
  const k = keys[0]!;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4 || keys.some((x) => x.dtype !== 'float32' || !tf.util.arraysEqual(x.shape, k.shape))) return null;
  if (q.dtype !== 'float32' || v.dtype !== 'float32') return null;
  const [batch, heads, queries, headDim] = q.shape as number[];
  const [bk, keyHeads, keySeq, dk] = k.shape as number[];
  const [bv, valueHeads, sv, valueDim] = v.shape as number[];
  if (bk !== batch || bv !== batch || sv !== keySeq || dk !== headDim || !queries || !keySeq) return null;
  if (heads! % keyHeads! || heads! % valueHeads!) return null;
  return {
    batch: batch!, heads: heads!, keyHeads: keyHeads!, valueHeads: valueHeads!, queries: queries!, keys: keySeq!, headDim: headDim!, valueDim: valueDim!,
    keyCopies: keys.length as 1 | 2,
  };
}

/** The webgpu backend where the kernels may run (fast paths on, backend webgpu), else null. */
export function fusedBackend(): WebGPUBackend | null {
  return fastPathEnabled() && tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as WebGPUBackend) : null;
}

/** The uniforms of every program (webgpu-wgsl.ts's UNIFORMS), for the dispatch whose rows start at `first`. */
export const programUniforms = (s: AttentionShape, groups: number, mask: MaskStructure, scale: number) => (first: number) => [
  ...[s.queries, s.keys, s.heads, s.keyHeads, s.valueHeads, groups, mask.causal ? 1 : 0, s.keys - s.queries, mask.window, mask.block ?? 0, first]
    .map((x) => ({ type: 'int32', data: [x] })),
  { type: 'float32', data: [scale] },
];

/** The program of `kernel` over `rows` rows of `length` (fusedProgram, or the pairs' pairProgram). */
export type ProgramOf = (kernel: Kernel, dims: ProgramDims, rows: number, length: number) => WebGPUProgram;

/** Run `kernel` over the plan's dispatches; each output [count, length, width] is cut into column blocks. */
export function runDispatches(be: WebGPUBackend, programOf: ProgramOf, kernel: Kernel, dispatches: Dispatch[], inputs: tf.Tensor[], length: number,
  uniforms: (first: number) => { type: string; data: number[] }[], dims: ProgramDims, columns: number[]): tf.Tensor[] {
  const blocks: tf.Tensor[][] = columns.map(() => []);
  for (const d of dispatches.filter((x) => x.kernel === kernel)) {
    const info = be.runWebGPUProgram(programOf(kernel, dims, d.count, length), inputs, 'float32', uniforms(d.first));
    const packed = tf.engine().makeTensorFromTensorInfo(info);
    const parts = columns.length === 1 ? [packed] : tf.split(packed, columns, 2);
    parts.forEach((p, i) => blocks[i]!.push(p));
  }
  return blocks.map((b) => (b.length === 1 ? b[0]! : tf.concat(b, 0)));
}

/**
 * x [B*n*r, S, W], r consecutive rows per head -> their sum per head, [B, n, S, W]. As slices and an addN:
 * tfjs-webgpu reduces a middle axis by transposing first, which took 0.4-1 s here at B2 H4 S512 W32 on
 * lavapipe (most of the backward) against 10 ms for this.
 */
export function sumConsecutive(x: tf.Tensor, b: number, n: number, r: number, s: number, w: number): tf.Tensor4D {
  if (r === 1) return x.reshape([b, n, s, w]);
  return tf.addN(tf.split(x.reshape([b * n, r, s * w]), r, 1)).reshape([b, n, s, w]);
}

/**
 * The fused kernel where it applies (webgpu, fast paths on, float32, KV heads dividing the query heads,
 * every input within the binding limit), else null. bindingLimit: the device's maxStorageBufferBindingSize
 * unless given (tests give a lower one to split small shapes over several dispatches).
 */
export function attendFusedWebgpu(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: MaskStructure, bindingLimit?: number): tf.Tensor4D | null {
  return fusedAttention(q, [k], v, scale, mask, bindingLimit);
}

/**
 * LeX's block rule fused (blocks of `block` keys, S = T): query i sees keys blockStart(i) .. i, those of its
 * own block as rows of k and those of the previous block as rows of kPrev ([B,Hk,T,Dh] both). Null where
 * the kernel does not apply (as attendFusedWebgpu).
 */
export function attendBlocksFusedWebgpu(q: tf.Tensor, k: tf.Tensor, kPrev: tf.Tensor, v: tf.Tensor, scale: number, block: number, bindingLimit?: number): tf.Tensor4D | null {
  if (q.shape[2] !== k.shape[2]) return null;
  return fusedAttention(q, [k, kPrev], v, scale, { causal: true, window: 0, block }, bindingLimit);
}

/** keys: [k] or, with blocks, [k, kPrev]. */
function fusedAttention(q: tf.Tensor, keys: tf.Tensor[], v: tf.Tensor, scale: number, mask: MaskStructure, bindingLimit?: number): tf.Tensor4D | null {
  const be = fusedBackend();
  const shape = attentionShape(q, keys, v);
  if (!be || !shape) return null;
  const plan = planAttention(shape, Math.min(bindingLimit ?? Infinity, be.device.limits.maxStorageBufferBindingSize));
  if (!plan) return null;
  const { batch: b, heads: h, queries: t, keys: s, headDim: dh, valueDim: dv, keyHeads, valueHeads } = shape;
  const copies = keys.length as 1 | 2;
  const groups = headGroups(shape)!;
  const storage = be.device.limits.maxComputeWorkgroupStorageSize;
  const layout = copies === 2 ? 'blocks' : 'heads';
  const keyDims: ProgramDims = { dh, dv, layout, tile: tileRows('forward', dh, dv, layout, storage) };
  const queryDims: ProgramDims = { dh, dv, layout, tile: tileRows('dkdv', dh, dv, layout, storage) };
  const uniforms = programUniforms(shape, groups, mask, scale);

  const fused = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as (t: tf.Tensor[]) => void;
    const [qs, ks, vs, ...previous] = args as tf.Tensor[];
    const [o, lse] = runDispatches(be, fusedProgram, 'forward', plan, [qs!, ks!, vs!, ...previous], t, uniforms, keyDims, [dv, 1]);
    const out = o!.reshape([b, h, t, dv]);
    save([qs!, ks!, vs!, ...previous, out, lse!]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, ...rest] = saved as tf.Tensor[];
        const [so, sl] = rest.splice(-2) as [tf.Tensor, tf.Tensor];
        const delta = tf.sum(tf.mul(dy, so), -1);
        const inputs = [sq!, sk!, sv!, dy, sl, delta, ...rest];
        const [dq] = runDispatches(be, fusedProgram, 'dq', plan, inputs, t, uniforms, keyDims, [dh]);
        const dkdv = runDispatches(be, fusedProgram, 'dkdv', plan, inputs, s, uniforms, queryDims, [...Array<number>(copies).fill(dh), dv]);
        // groups g of one key (value) head are consecutive: sum them
        const perHead = (x: tf.Tensor, headCount: number, width: number) => sumConsecutive(x, b, headCount, groups / headCount, s, width);
        const [dk, dkPrev] = dkdv.slice(0, copies).map((x) => perHead(x, keyHeads, dh));
        return [dq!.reshape(sq!.shape), dk!, perHead(dkdv[copies]!, valueHeads, dv), ...(dkPrev ? [dkPrev] : [])];
      }),
    };
  }) as GradFunc);
  return fused(q, ...keys.slice(0, 1), v, ...keys.slice(1)) as tf.Tensor4D;
}
