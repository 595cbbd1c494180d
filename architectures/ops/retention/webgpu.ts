// Chunkwise retention on webgpu: RetNet's MSR and YOCO's gated retention, forward and backward in WGSL
// (webgpu-programs.ts holds the programs and the formulas). Both are decayed linear attention in chunks of c:
//   o_t = r_t ( sum_{j<=t, same chunk} e^{g_t - g_j} (q_t . k_j) v_j + e^{g_t} q_t S_{m(t)} ),
//   S_{m+1} = e^{L_m} S_m + sum_{j in m} e^{L_m - g_j} k_j^T v_j,
// g the log-decays summed within each chunk, L_m the last of chunk m. Gated: g = cumsum(a) per chunk, r = 1.
// MSR (torchscale chunk_recurrent_forward): g_t = (i+1) log gamma_h (i: t's place in its chunk); the reference's
// inner mask, query and value decays are these up to 1/rs_i and 1/sum_j gamma^j, folded into the detached
//   r_t = 1 / (rs_i max(max(sum_j |a_tj|, 1), kvs_m)),  rs_i = sqrt(sum_{j<=i} gamma^j),
//   kvs_m = max(1, max_Dv sum_Dk |S_m| / sum_{j<c} gamma^j).
// Layouts: q, k [B, H, T, Dk]; v [B, H, T, Dv]; a [B, H, T]; run as G = B*H groups, as many per program as
// the device's maxStorageBufferBindingSize allows (null, the reference path, when one group alone is too big).
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { cachedConst } from '../../tensor-helpers.ts';
import type { GradFunc } from '../custom-grad.ts';
import { fastPathEnabled } from '../fast-path.ts';
import { msrScale } from './decay.ts';
import {
  absScoreProgram, chunkCount, gradWidth, inputGradProgram, outputProgram, stateGradProgram, statesProgram, type RetentionDims, type RetentionProgram,
} from './webgpu-programs.ts';

/** A slice's detached row scales r [groups, T] from its states S [groups, n, Dk, Dv] (MSR); none: r = 1. */
type RowScale = (q: tf.Tensor, k: tf.Tensor, g: tf.Tensor, S: tf.Tensor, groupStart: number, d: RetentionDims) => tf.Tensor;

/** The webgpu backend when the fast paths are on and these are float32 tensors; else null. */
function webgpuBackend(...xs: tf.Tensor[]): WebGPUBackend | null {
  if (!fastPathEnabled() || tf.getBackend() !== 'webgpu' || xs.some((x) => x.dtype !== 'float32')) return null;
  return tf.backend() as unknown as WebGPUBackend;
}

/**
 * Groups per program run so that no buffer it binds passes the device's limit (0: not even one group): q, k,
 * v, do are bound whole; a run's states and packed gradients are at most `runLimit` bytes.
 */
function groupsPerRun(deviceLimit: number, runLimit: number, d: Omit<RetentionDims, 'groups'>, total: number): number {
  const whole = 4 * total * d.t * Math.max(d.dk, d.dv);
  const perGroup = 4 * Math.max(chunkCount({ ...d, groups: 1 }) * d.dk * d.dv, d.t * gradWidth({ ...d, groups: 1 }));
  return whole > deviceLimit ? 0 : Math.min(total, Math.floor(runLimit / perGroup));
}

function run(be: WebGPUBackend, { program, uniforms }: RetentionProgram, inputs: tf.Tensor[], groupStart: number): tf.Tensor {
  const info = be.runWebGPUProgram(program, inputs, 'float32', uniforms(groupStart).map((n) => ({ type: 'int32', data: [n] })));
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** The slices [start, start + groups) covering G groups, perRun at a time. */
function slices(dims: Omit<RetentionDims, 'groups'>, total: number, perRun: number): { start: number; d: RetentionDims }[] {
  const out: { start: number; d: RetentionDims }[] = [];
  for (let start = 0; start < total; start += perRun) out.push({ start, d: { ...dims, groups: Math.min(perRun, total - start) } });
  return out;
}

/** Chunkwise decayed retention of [G, T, *] inputs and g [G, T], with its gradient (dq, dk, dv, dg). */
function chunkedRetention(be: WebGPUBackend, dims: Omit<RetentionDims, 'groups'>, total: number, perRun: number, rowScale?: RowScale) {
  const parts = slices(dims, total, perRun);
  return tf.customGrad(((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, g: tf.Tensor, save: tf.GradSaveFunc) => {
    const { o, r } = tf.tidy(() => {
      const os: tf.Tensor[] = [], rs: tf.Tensor[] = [];
      for (const { start, d } of parts) {
        const S = run(be, statesProgram(d), [k, v, g], start);
        const rSlice = rowScale ? rowScale(q, k, g, S, start, d) : tf.ones([d.groups, d.t]);
        rs.push(rSlice);
        os.push(run(be, outputProgram(d), [q, k, v, g, rSlice, S], start));
      }
      return { o: tf.concat(os, 0), r: tf.concat(rs, 0) };
    });
    save([q, k, v, g, r]);
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, gs, rsaved] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dor = tf.mul(dy, tf.expandDims(rsaved, -1));
        const perSlice = parts.map(({ start, d }) => {
          const S = run(be, statesProgram(d), [ks, vs, gs], start); // recomputed, not kept from the forward pass
          const U = run(be, stateGradProgram(d), [qs, gs, dor], start);
          return tf.split(run(be, inputGradProgram(d), [qs, ks, vs, gs, dor, S, U], start), [dims.dk, dims.dk, dims.dv, 1], 2);
        });
        const [dq, dk, dv, dg] = [0, 1, 2, 3].map((i) => tf.concat(perSlice.map((grads) => grads[i]!), 0)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return [dq, dk, dv, tf.squeeze(dg, [2])];
      },
    };
  }) as unknown as GradFunc) as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, g: tf.Tensor) => tf.Tensor;
}

/** MSR's per-(batch, head) constants for [G, T]: g_t = (i+1) log gamma, rs_i, and sum_{j<c} gamma^j per group. */
function msrConsts(logGammas: number[], batch: number, t: number, c: number) {
  const h = logGammas.length, groups = batch * h, key = `msr-webgpu:${logGammas.join(',')}:${batch}:${t}:${c}`;
  /** A [G, cols] table whose entry (group, col) is at(log gamma of the group's head, col). */
  const table = (name: string, cols: number, at: (lg: number, col: number) => number) => cachedConst(`${key}:${name}`, () => {
    const out = new Float32Array(groups * cols);
    for (let gi = 0; gi < groups; gi++) for (let i = 0; i < cols; i++) out[gi * cols + i] = at(logGammas[gi % h]!, i);
    return tf.tensor2d(out, [groups, cols]);
  });
  return {
    g: table('g', t, (lg, i) => ((i % c) + 1) * lg),
    rs: table('rs', t, (lg, i) => Math.sqrt(msrScale(lg, i % c))),
    total: table('total', 1, (lg) => msrScale(lg, c - 1)),
  };
}

/** MSR's detached r_t = 1 / (rs_i max(max(sum_j |a_tj|, 1), kvs_m)) for one slice (see the header). */
function msrRowScale(be: WebGPUBackend, rs: tf.Tensor, total: tf.Tensor): RowScale {
  return (q, k, g, S, start, d) => {
    const rows = (x: tf.Tensor) => x.slice([start, 0], [d.groups, -1]);
    const n = chunkCount(d);
    const kvs = tf.maximum(tf.div(tf.max(tf.sum(tf.abs(S), 2), 2), rows(total)), 1); // [groups, n]
    const kvsPerToken = tf.tile(tf.expandDims(kvs, 2), [1, 1, d.c]).reshape([d.groups, n * d.c]).slice([0, 0], [-1, d.t]);
    const rsSlice = rows(rs);
    const innerScale = tf.maximum(tf.div(run(be, absScoreProgram(d), [q, k, g], start), rsSlice), 1);
    return tf.div(1, tf.mul(rsSlice, tf.maximum(innerScale, kvsPerToken)));
  };
}

/** The backend, sizes and groups per run for inputs [q, k, v, ...] with q [B, H, T, Dk]; null where the kernels do not apply. */
function planRuns(xs: tf.Tensor[], dv: number, c: number, maxBinding?: number) {
  const be = webgpuBackend(...xs);
  if (!be) return null;
  const [b, h, t, dk] = xs[0]!.shape as [number, number, number, number];
  const dims = { t, c, dk, dv }, total = b * h;
  const deviceLimit = be.device.limits.maxStorageBufferBindingSize;
  const perRun = groupsPerRun(deviceLimit, Math.min(maxBinding ?? deviceLimit, deviceLimit), dims, total);
  return perRun === 0 ? null : { be, dims, b, h, t, dk, total, perRun };
}

/** Chunkwise MSR on webgpu (same as chunkwise.ts msrChunkwise), or null where it does not apply. maxBinding: a lower cap on a run's own buffers, in bytes. */
export function msrChunkwiseWebgpu(qr: tf.Tensor, kr: tf.Tensor, v: tf.Tensor, logGammas: number[], c: number, maxBinding?: number): tf.Tensor4D | null {
  const plan = planRuns([qr, kr, v], v.shape[3]!, c, maxBinding);
  if (!plan) return null;
  const { be, dims, b, h, t, dk, total, perRun } = plan;
  const { g, rs, total: sums } = msrConsts(logGammas, b, t, c);
  const o = chunkedRetention(be, dims, total, perRun, msrRowScale(be, rs, sums))(
    qr.reshape([total, t, dk]), kr.reshape([total, t, dk]), v.reshape([total, t, dims.dv]), g);
  return o.reshape([b, h, t, dims.dv]) as tf.Tensor4D;
}

/** Chunkwise gated retention on webgpu (same as chunkwise.ts gatedChunkwise), or null where it does not apply. maxBinding: as for MSR. */
export function gatedChunkwiseWebgpu(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, a: tf.Tensor, c: number, maxBinding?: number): tf.Tensor4D | null {
  const plan = planRuns([q, k, v, a], v.shape[3]!, c, maxBinding);
  if (!plan) return null;
  const { be, dims, b, h, t, dk, total, perRun } = plan;
  const n = Math.ceil(t / c);
  // g: the log-decays summed within each chunk, as a product with the inclusive upper-triangular ones [c, c]
  // (tf.cumsum's gradient, a reverse cumsum, is wrong on tfjs-webgpu 4.22 for some shapes, e.g. [4, 3, 4] axis 2)
  const inclusiveSum = cachedConst(`retention-inclusive-sum:${c}`, () => tf.linalg.bandPart(tf.ones([c, c]), 0, -1));
  const g = tf.matMul(tf.pad(a.reshape([total, t]), [[0, 0], [0, n * c - t]]).reshape([total * n, c]), inclusiveSum)
    .reshape([total, n * c]).slice([0, 0], [-1, t]);
  const o = chunkedRetention(be, dims, total, perRun)(
    q.reshape([total, t, dk]), k.reshape([total, t, dk]), v.reshape([total, t, dims.dv]), g);
  return o.reshape([b, h, t, dims.dv]) as tf.Tensor4D;
}
