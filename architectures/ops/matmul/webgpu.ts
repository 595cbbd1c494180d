// Matrix products on the webgpu backend, with the device's subgroups where it has them:
//   C = op(A) op(B),  op = identity or transpose (tf.matMul's flags),  batched over the leading axes:
//   A [Ba, M, K] ([Ba, K, M] transposed), B [Bb, K, N] ([Bb, N, K] transposed), C [Bc, M, N], Ba, Bb in {Bc, 1}.
// One workgroup of WG invocations computes a TM x (WG TN) tile of C in registers: invocation l holds
// C[r0 + i, c0 + l + WG t] (i < TM, t < TN). All invocations of a workgroup share its TM rows, so a subgroup
// (width w, lane s) loads the strip a_i = A[r0 + i, k0 + s] once, one value per lane, and passes it around
// with subgroupShuffle instead of workgroup memory:
//   C[r0 + i, c] += shuffle(a_i, j) B[k0 + j, c],  j < w,  k0 = 0, w, 2w, ...
// Gradients (tf.matMul's rule, with flags instead of transposes; summed over a broadcast batch):
//   dA = dC op(B)^T  (transposed A: op(B) dC^T),   dB = op(A)^T dC  (transposed B: dC^T op(A)).
// Where the device lacks `subgroups` (or its subgroups are wider than a workgroup) tfjs-webgpu's own
// matMul runs instead, and also where ARCHBENCH_WEBGPU_MATMUL=tfjs asks for it (the GPU sitting sets it when
// its A/B finds this kernel slower; on lavapipe the two give bit-identical products, so the choice moves speed,
// not values); matmulWebgpuKernel() says which, and the first product on webgpu logs it. Products
// of fewer than TM rows (decoding's matrix-vector products) are tfjs-webgpu's too: a TM-row tile would
// leave most of its work idle, and tfjs has a program for small outputs.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GradFunc } from '../custom-grad.ts';
import { runKernel, webgpuBackend } from '../webgpu-program.ts';

/** Invocations per workgroup (a multiple of the subgroup width), rows per workgroup tile. */
const WG = 64;
const TM = 16;

/** Columns per invocation: enough to cover N with one workgroup where N is small, at most 4. */
const columnsPerInvocation = (n: number): number => Math.min(4, Math.ceil(n / WG));

/** The device's subgroup widths when the subgroup kernel can run on it, else why not. */
function subgroupWidths(be: WebGPUBackend): { min: number; max: number } | string {
  const choice = process.env.ARCHBENCH_WEBGPU_MATMUL ?? 'subgroup';
  if (choice !== 'subgroup' && choice !== 'tfjs') throw new Error(`ARCHBENCH_WEBGPU_MATMUL='${choice}': valid are subgroup (the default) and tfjs`);
  if (choice === 'tfjs') return 'ARCHBENCH_WEBGPU_MATMUL=tfjs';
  if (!be.device.features.has('subgroups')) return "the device has no 'subgroups' feature";
  const info = (be.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const min = info?.subgroupMinSize ?? 0, max = info?.subgroupMaxSize ?? 0;
  if (!(max > 0 && max <= WG && WG % max === 0)) return `its subgroups (${min}-${max} wide) do not tile a workgroup of ${WG}`;
  return { min, max };
}

/** Which matMul runs on the active webgpu device, in words (bench prints it; the first product logs it). */
export function matmulWebgpuKernel(be: WebGPUBackend = tf.backend() as unknown as WebGPUBackend): string {
  const widths = subgroupWidths(be);
  return typeof widths === 'string'
    ? `tfjs-webgpu's matMul (${widths})`
    : `subgroup WGSL matmul (subgroupShuffle register tiles ${TM} x ${WG}·TN, subgroups ${widths.min}-${widths.max} wide; tfjs-webgpu's for fewer than ${TM} rows)`;
}

interface Operands { a: tf.Tensor3D; b: tf.Tensor3D; transposeA: boolean; transposeB: boolean }

/** C = op(A) op(B) for 3-D operands, one WGSL program (no gradient of its own). */
function product(be: WebGPUBackend, { a, b, transposeA, transposeB }: Operands): tf.Tensor3D {
  const m = a.shape[transposeA ? 2 : 1], k = a.shape[transposeA ? 1 : 2], n = b.shape[transposeB ? 1 : 2];
  const batch = Math.max(a.shape[0], b.shape[0]), tn = columnsPerInvocation(n);
  const rowBlocks = Math.ceil(m / TM), colBlocks = Math.ceil(n / (WG * tn));
  const at = transposeA ? 'a[aBase + kk * m + r]' : 'a[aBase + r * k + kk]';
  const bt = transposeB ? 'b[bBase + c * k + kk]' : 'b[bBase + kk * n + c]';
  return runKernel(be, {
    key: `matmul_subgroup_${TM}_${tn}_${transposeA ? 't' : 'n'}${transposeB ? 't' : 'n'}`,
    inputs: ['a', 'b'], outputShape: [batch, m, n], workgroups: batch * rowBlocks * colBlocks, workgroupSize: WG,
    uniforms: 'm : i32, n : i32, k : i32, batches : i32, aStride : i32, bStride : i32, rowBlocks : i32, colBlocks : i32,',
    enable: ['subgroups'],
    body: `
  let m = uniforms.m; let n = uniforms.n; let k = uniforms.k;
  let group = index / ${WG};
  let batch = group / (uniforms.rowBlocks * uniforms.colBlocks);
  if (batch >= uniforms.batches) { return; }  // whole workgroups past the grid (tfjs folds large counts)
  let r0 = ((group / uniforms.colBlocks) % uniforms.rowBlocks) * ${TM};
  let c0 = (group % uniforms.colBlocks) * ${WG * tn} + index % ${WG};
  let aBase = batch * uniforms.aStride;
  let bBase = batch * uniforms.bStride;
  let lane = i32(subgroupExclusiveAdd(1u));  // = subgroup_invocation_id: every lane is active here
  let width = i32(subgroupAdd(1u));          // the subgroup's size (full subgroups)
  var acc : array<f32, ${TM * tn}>;
  for (var k0 = 0; k0 < k; k0 += width) {
    var strip : array<f32, ${TM}>;           // strip[i] = A[r0 + i, k0 + lane]
    let kk = k0 + lane;
    for (var i = 0; i < ${TM}; i++) {
      let r = r0 + i;
      if (r < m && kk < k) { strip[i] = ${at}; } else { strip[i] = 0.0; }
    }
    let steps = min(width, k - k0);
    for (var j = 0; j < steps; j++) {
      let kk = k0 + j;
      var bRow : array<f32, ${tn}>;           // bRow[t] = B[k0 + j, c0 + ${WG} t]
      for (var t = 0; t < ${tn}; t++) {
        let c = c0 + t * ${WG};
        if (c < n) { bRow[t] = ${bt}; } else { bRow[t] = 0.0; }
      }
      for (var i = 0; i < ${TM}; i++) {
        let av = subgroupShuffle(strip[i], u32(j));
        for (var t = 0; t < ${tn}; t++) { acc[i * ${tn} + t] += av * bRow[t]; }
      }
    }
  }
  for (var i = 0; i < ${TM}; i++) {
    for (var t = 0; t < ${tn}; t++) {
      let r = r0 + i; let c = c0 + t * ${WG};
      if (r < m && c < n) { result[(batch * m + r) * n + c] = acc[i * ${tn} + t]; }
    }
  }`,
  }, [a, b], [m!, n!, k!, batch, a.shape[0] === 1 ? 0 : m! * k!, b.shape[0] === 1 ? 0 : k! * n!, rowBlocks, colBlocks].map((v) => ({ type: 'int32', data: [v] }))) as tf.Tensor3D;
}

/** A gradient for an operand of batch `batch`: summed over the batches it was broadcast to. */
const toBatch = (g: tf.Tensor3D, batch: number): tf.Tensor3D => (g.shape[0] === batch ? g : tf.sum(g, 0, true));

let announced = false;

/**
 * op(A) op(B) on webgpu (float32, rank >= 2, the same leading axes, or none on one side): the subgroup
 * kernel with its gradient, or tfjs-webgpu's matMul where the device has no usable subgroups or op(A) has
 * fewer than TM rows (a's leading axes count as rows when b has none). Null where no webgpu kernel applies
 * (another backend, shapes it does not take, a buffer over the binding limit).
 */
export function matMulWebgpu(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.rank < 2 || b.rank < 2) return null;
  const lead = (t: tf.Tensor) => t.shape.slice(0, -2);
  const la = lead(a), lb = lead(b), outLead = la.length >= lb.length ? la : lb;
  if (la.length && lb.length && la.join() !== lb.join()) return null;
  const m = a.shape[a.rank - (transposeA ? 1 : 2)]!, k = a.shape[a.rank - (transposeA ? 2 : 1)]!;
  const n = b.shape[b.rank - (transposeB ? 2 : 1)]!;
  if (b.shape[b.rank - (transposeB ? 1 : 2)] !== k) return null;
  const batch = outLead.reduce((p, d) => p * d, 1);
  const be = webgpuBackend([a, b], [batch * m * n]);
  if (!be) return null;
  if (!announced) {
    announced = true;
    process.stderr.write(`matmul on webgpu: ${matmulWebgpuKernel(be)}\n`);
  }
  const rows = lb.length === 0 && !transposeA ? batch * m : m;
  if (typeof subgroupWidths(be) === 'string' || rows < TM) return tf.matMul(a, b, transposeA, transposeB);
  const as3 = (t: tf.Tensor) => t.reshape([t.size / (t.shape.at(-2)! * t.shape.at(-1)!), t.shape.at(-2)!, t.shape.at(-1)!]) as tf.Tensor3D;
  const a3 = lb.length === 0 && !transposeA ? a.reshape([1, batch * m, k]) as tf.Tensor3D : as3(a); // x W: every row of x in one product
  const f = tf.customGrad(((x: tf.Tensor3D, y: tf.Tensor3D, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: product(be, { a: x, b: y, transposeA, transposeB }),
      gradFunc: (dc: tf.Tensor3D, [xs, ys]: tf.Tensor[]) => {
        const [x3, y3] = [xs as tf.Tensor3D, ys as tf.Tensor3D];
        const da = transposeA ? product(be, { a: y3, b: dc, transposeA: transposeB, transposeB: true })
          : product(be, { a: dc, b: y3, transposeA: false, transposeB: !transposeB });
        const db = transposeB ? product(be, { a: dc, b: x3, transposeA: true, transposeB: transposeA })
          : product(be, { a: x3, b: dc, transposeA: !transposeA, transposeB: false });
        return [toBatch(da, x3.shape[0]), toBatch(db, y3.shape[0])];
      },
    };
  }) as unknown as GradFunc);
  return (f(a3, as3(b)) as tf.Tensor).reshape([...outLead, m, n]);
}
