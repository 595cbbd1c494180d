// The WGSL chunkwise retention (webgpu.ts) on webgpu against the reference forms on wasm (the same inputs):
// chunkwise MSR and gated retention, values and the gradients into q, k, v (and the gate input a), within
// 1e-4 relative; T not a multiple of the chunk, several heads, Dk != Dv, runs split over (batch, head) groups
// by a binding cap; and through the dispatcher against the parallel forms. (The references are not run on
// webgpu: tfjs-webgpu 4.22's rank-5 Pad, the gradient of their rank-5 slices, fails to compile.) And the
// kernels' outputs against the golden vectors of fixtures/golden, from the reference's own
// intermediates (`verify --golden` itself reads synchronously, which webgpu cannot). Where Dawn finds no adapter the tests say why and skip (CI must run them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../harness/backend.ts';
import { ROOT } from '../../../harness/hash.ts';
import { silu } from '../activation/reference.ts';
import { mergeHeadsPlain, splitHeadsPlain } from '../attention/reference.ts';
import { startDawn, type AdapterFacts } from '../../../harness/webgpu.ts';
import { rmsNormPlain } from '../norm/reference.ts';
import { applyRotationPlain } from '../rotation/reference.ts';
import { gatedChunkwise, msrChunkwise } from './chunkwise.ts';
import { msrLogDecays } from './decay.ts';
import { gatedRetain, msrRetain } from './index.ts';
import { gatedParallel, msrParallel } from './parallel.ts';
import { gatedChunkwiseWebgpu, msrChunkwiseWebgpu } from './webgpu.ts';

const WEBGPU_TOL = 1e-4;

const facts: AdapterFacts | { problem: string } = await startDawn().catch((e: Error) => ({ problem: e.message }));
if ('problem' in facts) process.stderr.write(`webgpu retention kernels are not tested here: ${facts.problem}\n`);
if ('problem' in facts && process.env.CI) throw new Error(`CI must test the webgpu retention kernels: ${facts.problem}`);

/** max |a - b| / max |b| (0 when both are all zero). */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** f's value and its gradients w.r.t. xs of sum(f * probe), read asynchronously (webgpu has no synchronous read). */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], probe: tf.Tensor): Promise<Float32Array[]> {
  const outs = tf.tidy(() => [f(...xs), ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), probe)))(xs)]);
  const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return data;
}

/** A check: inputs (shape, seed, std, negated abs for log-decays), the WGSL op and its reference. */
interface Check {
  name: string;
  labels: string[];
  inputs: { shape: number[]; seed: number; logDecay?: boolean }[];
  wgsl: (...xs: tf.Tensor[]) => tf.Tensor;
  reference: (...xs: tf.Tensor[]) => tf.Tensor;
}

/** [B, H, T, Dk, Dv, chunk, cap on a run's buffers in bytes (undefined: the device's limit)]. */
type Shape = [number, number, number, number, number, number, number | undefined];
const SHAPES: Shape[] = [
  [2, 3, 11, 4, 6, 4, undefined], // T not a multiple of c, several heads, Dk != Dv
  [1, 2, 16, 8, 4, 4, undefined], // T a multiple of c, Dk > Dv
  [1, 2, 5, 4, 4, 8, undefined], // one partial chunk
  [2, 2, 9, 4, 6, 3, 600], // a cap of 600 bytes on a run's buffers: one (batch, head) group per run
];
const tag = ([b, h, t, dk, dv, c, cap]: Shape) => `B${b} H${h} T${t} Dk${dk} Dv${dv} c${c}${cap ? ' split' : ''}`;

const applied = (o: tf.Tensor4D | null): tf.Tensor4D => {
  if (!o) throw new Error('the WGSL kernel did not apply');
  return o;
};
const perRow = (o: tf.Tensor) => rmsNormPlain(o, null, 0);

const CHECKS: Check[] = SHAPES.flatMap((shape): Check[] => {
  const [b, h, t, dk, dv, c, cap] = shape;
  const lg = msrLogDecays(h);
  const qkv = (seed: number) => [{ shape: [b, h, t, dk], seed }, { shape: [b, h, t, dk], seed: seed + 1 }, { shape: [b, h, t, dv], seed: seed + 2 }];
  return [{
    name: `msr chunkwise ${tag(shape)}`, labels: ['o', 'dq', 'dk', 'dv'], inputs: qkv(1),
    wgsl: (q, k, v) => applied(msrChunkwiseWebgpu(q!, k!, v!, lg, c, cap)),
    reference: (q, k, v) => msrChunkwise(q!, k!, v!, lg, c),
  }, {
    name: `gated chunkwise ${tag(shape)}`, labels: ['o', 'dq', 'dk', 'dv', 'da'], inputs: [...qkv(4), { shape: [b, h, t], seed: 7, logDecay: true }],
    wgsl: (q, k, v, a) => applied(gatedChunkwiseWebgpu(q!, k!, v!, a!, c, cap)),
    reference: (q, k, v, a) => gatedChunkwise(q!, k!, v!, a!, c),
  }];
}).concat([{
  name: 'gated dispatcher vs parallel', labels: ['o', 'dq', 'dk', 'dv', 'da'],
  inputs: [{ shape: [2, 3, 11, 4], seed: 8 }, { shape: [2, 3, 11, 4], seed: 9 }, { shape: [2, 3, 11, 6], seed: 10 }, { shape: [2, 3, 11], seed: 11, logDecay: true }],
  wgsl: (q, k, v, a) => gatedRetain(q!, k!, v!, a!, 4),
  reference: (q, k, v, a) => gatedParallel(q!, k!, v!, a!),
}, {
  name: 'msr dispatcher vs parallel (per-row shape)', labels: ['o', 'dq', 'dk', 'dv'],
  inputs: [{ shape: [2, 3, 11, 4], seed: 12 }, { shape: [2, 3, 11, 4], seed: 13 }, { shape: [2, 3, 11, 6], seed: 14 }],
  wgsl: (q, k, v) => perRow(msrRetain(q!, k!, v!, msrLogDecays(3), 4)),
  reference: (q, k, v) => perRow(msrParallel(q!, k!, v!, msrLogDecays(3))),
}]);

/** Every output is shaped like v [B, H, T, Dv], the third input. */
const outShape = (check: Check): number[] => check.inputs[2]!.shape;

/** A check's inputs and probe as arrays (made on wasm, so both backends see the same numbers). */
function inputArrays(check: Check): { xs: Float32Array[]; probe: Float32Array } {
  return tf.tidy(() => {
    const xs = check.inputs.map(({ shape, seed, logDecay }) => {
      const x = tf.randomNormal(shape, 0, logDecay ? 0.3 : 1, 'float32', seed);
      return (logDecay ? tf.neg(tf.abs(x)) : x).dataSync() as Float32Array;
    });
    return { xs, probe: tf.randomNormal(outShape(check), 0, 1, 'float32', 99).dataSync() as Float32Array };
  });
}

/** Worst relative errors per check and output, printed as a table at the end. */
const table: Record<string, Record<string, number>> = {};

describe.runIf(!('problem' in facts))('chunkwise retention in WGSL on webgpu = the reference forms on wasm (1e-4 relative)', () => {
  const expected = new Map<string, { xs: Float32Array[]; probe: Float32Array; outs: Float32Array[] }>();
  beforeAll(async () => {
    await selectBackend('wasm');
    for (const check of CHECKS) {
      const { xs, probe } = inputArrays(check);
      const tensors = xs.map((x, i) => tf.tensor(x, check.inputs[i]!.shape));
      const p = tf.tensor(probe, outShape(check));
      expected.set(check.name, { xs, probe, outs: await valueAndGrads(check.reference, tensors, p) });
      tf.dispose([...tensors, p]);
    }
    await selectBackend('webgpu');
  });
  afterAll(async () => {
    console.log('worst relative errors, WGSL on webgpu vs the reference on wasm:');
    console.table(table);
    await selectBackend('wasm');
  });

  it.each(CHECKS.map((c) => [c.name, c] as const))('%s: values and gradients', async (_, check) => {
    const { xs, probe, outs } = expected.get(check.name)!;
    const tensors = xs.map((x, i) => tf.tensor(x, check.inputs[i]!.shape));
    const p = tf.tensor(probe, outShape(check));
    const ours = await valueAndGrads(check.wgsl, tensors, p);
    tf.dispose([...tensors, p]);
    table[check.name] = Object.fromEntries(check.labels.map((label, i) => [label, relErr(ours[i]!, outs[i]!)]));
    for (const [label, e] of Object.entries(table[check.name]!)) expect(e, `${check.name} ${label}`).toBeLessThanOrEqual(WEBGPU_TOL);
  });

  it('leaves a (batch, head) group too big for the binding cap to the reference (null)', () => {
    tf.tidy(() => {
      const q = tf.zeros([1, 2, 9, 4]), v = tf.zeros([1, 2, 9, 6]), a = tf.zeros([1, 2, 9]);
      expect(msrChunkwiseWebgpu(q, q, v, msrLogDecays(2), 3, 500)).toBeNull(); // one group's packed gradients: 540 bytes
      expect(gatedChunkwiseWebgpu(q, q, v, a, 3, 500)).toBeNull();
      expect(gatedChunkwiseWebgpu(q, q, v, a, 3, 540)).not.toBeNull();
    });
  });
});

const GOLDEN = join(ROOT, 'fixtures', 'golden');
type GoldenArray = { shape: number[]; data: number[] };
type GoldenCase = { config: Record<string, number>; weights: Record<string, GoldenArray>; inputs: Record<string, GoldenArray>; outputs: Record<string, GoldenArray> };
const readGolden = (name: string): GoldenCase => JSON.parse(readFileSync(join(GOLDEN, name), 'utf8')) as GoldenCase;
const arr = (a: GoldenArray) => tf.tensor(a.data, a.shape);

/** The README's rule: max |ours - ref| <= 2e-5 max(1, max |ref|). Returns max |err| / that tolerance. */
async function goldenRatio(ours: tf.Tensor, ref: GoldenArray): Promise<number> {
  expect(ours.shape).toEqual(ref.shape);
  const x = await ours.data();
  let err = 0, scale = 0;
  ref.data.forEach((r, i) => {
    err = Math.max(err, Math.abs(x[i]! - Math.fround(r)));
    scale = Math.max(scale, Math.abs(r));
  });
  return err / (2e-5 * Math.max(1, scale));
}

/** y = (silu(g) ⊙ GroupRMSNorm_eps(o)) W_out^T: the output path both layers share (o [B,H,T,hd], g [B,T,V]). */
const outputPath = (o: tf.Tensor, g: tf.Tensor, wOut: tf.Tensor, eps: number) =>
  tf.matMul(tf.mul(silu(g), mergeHeadsPlain(rmsNormPlain(o, null, eps))), wOut, false, true);

/** x [B,L,D] W^T, split into heads and rotated by the interleaved RoPE with cos, sin [L, hd/2]. */
function rotatedHeads(x: tf.Tensor, w: tf.Tensor, heads: number, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const dup = (t: tf.Tensor) => tf.stack([t, t], -1).reshape([t.shape[0]!, t.shape[1]! * 2]);
  return applyRotationPlain(splitHeadsPlain(tf.matMul(x, w, false, true), heads), dup(cos), dup(sin));
}

describe.runIf(!('problem' in facts))('the WGSL kernels on the golden vectors (README rule 2e-5 max(1, max|ref|))', () => {
  const ratios: Record<string, number> = {};
  beforeAll(async () => {
    await selectBackend('webgpu');
  });
  afterAll(async () => {
    console.log('golden vectors, max |err| / (2e-5 max(1, max|ref|)):');
    console.table(ratios);
    await selectBackend('wasm');
  });

  it.each(['retnet_msr.json', 'retnet_msr_x10.json'])('%s: chunkwise_output from its qr, kr, v, g', async (file) => {
    const c = readGolden(file), o = c.outputs, h = c.config.num_heads!;
    const y = tf.tidy(() => {
      const retained = applied(msrChunkwiseWebgpu(arr(o['intermediate.qr']!), arr(o['intermediate.kr']!), splitHeadsPlain(arr(o['intermediate.v']!), h),
        c.inputs['relpos.decay_log']!.data, c.config.recurrent_chunk_size!));
      return outputPath(retained, arr(o['intermediate.g']!), arr(c.weights['out_proj.weight']!), c.config.layernorm_eps!);
    });
    ratios[`${file} chunkwise_output`] = await goldenRatio(y, o.chunkwise_output!);
    expect(ratios[`${file} chunkwise_output`]).toBeLessThanOrEqual(1);
    y.dispose();
  });

  it('yoco_gate_retention.json: retention before the sub-norm, chunk 4 and the module\'s chunk', async () => {
    const c = readGolden('yoco_gate_retention.json'), w = c.weights, h = c.config.n_self_heads!, hd = c.config.head_dim!;
    for (const chunk of [c.config.chunk_size_small_check!, c.config.chunk_size_module!]) {
      const o = tf.tidy(() => {
        const x = arr(c.inputs.x!), cos = arr(c.inputs['rel_pos.cos']!), sin = arr(c.inputs['rel_pos.sin']!);
        const q = rotatedHeads(x, arr(w['q_proj.weight']!), h, cos, sin);
        const k = tf.mul(rotatedHeads(x, arr(w['k_proj.weight']!), h, cos, sin), hd ** -0.5);
        const v = splitHeadsPlain(tf.matMul(x, arr(w['v_proj.weight']!), false, true), h);
        return applied(gatedChunkwiseWebgpu(q, k, v, arr(c.outputs['intermediate.log_decay_gt']!), chunk));
      });
      const name = `yoco_gate_retention.json retention_pre_subln, chunk ${chunk}`;
      ratios[name] = await goldenRatio(o, c.outputs['intermediate.retention_pre_subln']!);
      expect(ratios[name], name).toBeLessThanOrEqual(1);
      o.dispose();
    }
  });
});
