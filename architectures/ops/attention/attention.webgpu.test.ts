// The fused webgpu attention (webgpu.ts) against attendPlain with the equivalent mask table, values and
// gradients (dq, dk, dv) within 1e-4 relative: causal with T not a multiple of the tiles, a KV-cache
// offset (T < S), a decode step (T = 1), no mask, sliding windows, grouped KV (Hk != Hv, as Diff's maps),
// head dims that are no multiple of 4 (the kernels' vec4 padding), and outputs split over several
// dispatches; LeX's blocks against attendBlocksPlain (dq, dk, dkPrev, dv; T no multiple of b, blocks
// across workgroups, split dispatches); Diff's fused pairs of maps against the difference of attendPlain's
// maps (dq, dk, dv, dλ; λ a scalar or per pair, grouped KV, KV-cache offset, a decode step, split
// dispatches); no case leaves a tensor behind. The worst errors go out as a table. Where Dawn finds no
// adapter the kernel tests say why and skip (CI must run them). The binding plan at a long sequence is
// checked without a GPU.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../harness/backend.ts';
import { startDawn } from '../../../harness/webgpu.ts';
import { causalMask } from '../../layers.ts';
import { repeatHeads } from '../../tensor-helpers.ts';
import { attend, attendBlocks, attendCausal, attendDifferential } from './index.ts';
import { attendBlocksPlain, attendPlain, mapDifferencePlain } from './reference.ts';
import { attendBlocksFusedWebgpu, attendFusedWebgpu, type MaskStructure } from './webgpu.ts';
import { type AttentionShape, planAttention, planPairs } from './webgpu-plan.ts';
import { attendPairFusedWebgpu } from './webgpu-pair.ts';

const TOL = 1e-4;

const dawn = await startDawn().then(() => null, (e: Error) => e.message);
if (dawn) process.stderr.write(`the fused webgpu attention is not tested here: ${dawn}\n`);
if (dawn && process.env.CI) throw new Error(`CI must test the fused webgpu attention: ${dawn}`);

/** max |a - b| / max |b|, read asynchronously (webgpu has no synchronous read). */
async function relErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let diff = 0, scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

type Attention = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
/** Output and gradients of sum(f(...xs) * probe) w.r.t. each of xs. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], probe: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => [f(...xs), ...tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), probe)))(xs)]);
}

/**
 * Values and gradients of `fused` against `reference` at inputs xs (disposed here), each within TOL; one
 * table row (`names`: the output, then the gradients); no tensor left behind.
 */
async function expectAgrees(row: string, names: string[], xs: tf.Tensor[], probe: tf.Tensor, fused: (...xs: tf.Tensor[]) => tf.Tensor, reference: (...xs: tf.Tensor[]) => tf.Tensor, tensorsBefore: number): Promise<void> {
  const got = valueAndGrads(fused, xs, probe), want = valueAndGrads(reference, xs, probe);
  const errs = await Promise.all(got.map((g, i) => relErr(g, want[i]!)));
  table.push(`| ${row} | ${errs.map((e, i) => `${names[i]} ${e.toExponential(1)}`).join(', ')} |`);
  tf.dispose([...xs, ...got, ...want, probe]);
  for (const e of errs) expect(e).toBeLessThanOrEqual(TOL);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
}

interface Case { variant: string; b: number; h: number; hk: number; hv: number; t: number; s: number; dh?: number; dv?: number; window?: number; causal?: boolean; limit?: number }
const table: string[] = [];

/** The fused kernel (through `fused`) against the reference with the mask table and repeated KV heads; no tensor left behind. */
async function expectFusedAgrees(c: Case, fused: Attention): Promise<void> {
  const tensorsBefore = tf.memory().numTensors;
  const dh = c.dh ?? 16, dv = c.dv ?? 8, scale = 0.3, window = c.window ?? 0, causal = c.causal ?? true;
  const xs = [tf.randomNormal([c.b, c.h, c.t, dh], 0, 1, 'float32', 1), tf.randomNormal([c.b, c.hk, c.s, dh], 0, 1, 'float32', 2), tf.randomNormal([c.b, c.hv, c.s, dv], 0, 1, 'float32', 3)];
  const mask = causal ? causalMask(c.t, c.s, window) : null;
  const reference: Attention = (q, k, v) => attendPlain(q, repeatHeads(k, c.h / c.hk), repeatHeads(v, c.h / c.hv), scale, mask);
  const structure: MaskStructure = { causal, window };
  const applies = attendFusedWebgpu(xs[0]!, xs[1]!, xs[2]!, scale, structure, c.limit);
  expect(applies, 'the fused kernel applies').not.toBeNull();
  tf.dispose(applies!);
  const probe = tf.randomNormal([c.b, c.h, c.t, dv], 0, 1, 'float32', 4);
  const row = `${c.variant} | B${c.b} H${c.h} Hk${c.hk} Hv${c.hv} T${c.t} S${c.s} Dh${dh} Dv${dv}${window ? ` w${window}` : ''}${c.limit ? ` limit ${c.limit} B` : ''}`;
  await expectAgrees(row, ['out', 'dq', 'dk', 'dv'], xs, probe, fused as (...xs: tf.Tensor[]) => tf.Tensor, reference as (...xs: tf.Tensor[]) => tf.Tensor, tensorsBefore + (mask ? 1 : 0));
  mask?.dispose();
}

interface BlockCase { b: number; h: number; t: number; block: number; dh?: number; dv?: number; limit?: number }
/** LeX's blocks fused (through the dispatcher, or with a lower binding limit) against attendBlocksPlain. */
async function expectBlocksAgree(c: BlockCase): Promise<void> {
  const dh = c.dh ?? 16, dv = c.dv ?? 8, scale = 0.3;
  const xs = [dh, dh, dh, dv].map((width, seed) => tf.randomNormal([c.b, c.h, c.t, width], 0, 1, 'float32', seed + 1)); // q, k, kPrev, v
  tf.tidy(() => attendBlocksPlain(xs[0]!, xs[1]!, xs[2]!, xs[3]!, scale, c.block)); // caches its block mask table
  const tensorsBefore = tf.memory().numTensors - xs.length;
  const applies = attendBlocksFusedWebgpu(xs[0]!, xs[1]!, xs[2]!, xs[3]!, scale, c.block, c.limit);
  expect(applies, 'the fused kernel applies').not.toBeNull();
  tf.dispose(applies!);
  const probe = tf.randomNormal([c.b, c.h, c.t, dv], 0, 1, 'float32', 4);
  const fused = c.limit ? (q: tf.Tensor, k: tf.Tensor, p: tf.Tensor, v: tf.Tensor) => attendBlocksFusedWebgpu(q, k, p, v, scale, c.block, c.limit)!
    : (q: tf.Tensor, k: tf.Tensor, p: tf.Tensor, v: tf.Tensor) => attendBlocks(q, k, p, v, scale, c.block);
  const row = `LeX blocks | B${c.b} H${c.h} T${c.t} b${c.block} Dh${dh} Dv${dv}${c.limit ? ` limit ${c.limit} B` : ''}`;
  await expectAgrees(row, ['out', 'dq', 'dk', 'dkPrev', 'dv'], xs, probe, fused as (...xs: tf.Tensor[]) => tf.Tensor,
    ((q: tf.Tensor, k: tf.Tensor, p: tf.Tensor, v: tf.Tensor) => attendBlocksPlain(q, k, p, v, scale, c.block)) as (...xs: tf.Tensor[]) => tf.Tensor, tensorsBefore);
}

interface PairCase { variant: string; b: number; pairs: number; hk: number; hv: number; t: number; s: number; dh?: number; dv?: number; perPair?: boolean; limit?: number }
/** Diff's pairs fused (through the dispatcher, or with a lower binding limit) against the difference of attendPlain's maps. */
async function expectPairsAgree(c: PairCase): Promise<void> {
  const dh = c.dh ?? 8, dv = c.dv ?? 16, scale = 0.35, maps = 2 * c.pairs;
  const xs = [
    tf.randomNormal([c.b, maps, c.t, dh], 0, 1, 'float32', 1), tf.randomNormal([c.b, c.hk, c.s, dh], 0, 1, 'float32', 2),
    tf.randomNormal([c.b, c.hv, c.s, dv], 0, 1, 'float32', 3), c.perPair ? tf.randomUniform([c.pairs], 0.2, 0.9, 'float32', 5) : tf.scalar(0.6),
  ];
  const mask = causalMask(c.t, c.s);
  const reference = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, lambda: tf.Tensor) =>
    mapDifferencePlain(attendPlain(q, repeatHeads(k, maps / c.hk), repeatHeads(v, maps / c.hv), scale, mask), lambda);
  const fused = c.limit ? (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, lambda: tf.Tensor) => attendPairFusedWebgpu(q, k, v, lambda, scale, c.limit)!
    : (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, lambda: tf.Tensor) => attendDifferential(q, k, v, lambda, scale);
  const tensorsBefore = tf.memory().numTensors - xs.length;
  const applies = tf.tidy(() => [attendPairFusedWebgpu(xs[0]!, xs[1]!, xs[2]!, xs[3]!, scale, c.limit)].filter((o) => o !== null));
  expect(applies, 'the fused kernel applies').toHaveLength(1);
  tf.dispose(applies);
  const probe = tf.randomNormal([c.b, c.pairs, c.t, dv], 0, 1, 'float32', 4);
  const row = `${c.variant} | B${c.b} P${c.pairs} (maps ${maps}) Hk${c.hk} Hv${c.hv} T${c.t} S${c.s} Dh${dh} Dv${dv} λ ${c.perPair ? '[P]' : 'scalar'}${c.limit ? ` limit ${c.limit} B` : ''}`;
  await expectAgrees(row, ['out', 'dq', 'dk', 'dv', 'dλ'], xs, probe, fused as (...xs: tf.Tensor[]) => tf.Tensor, reference as (...xs: tf.Tensor[]) => tf.Tensor, tensorsBefore);
  mask.dispose();
}

describe.runIf(!dawn)('attention: the fused webgpu kernel agrees with attendPlain (values, dq, dk, dv; 1e-4 relative)', () => {
  beforeAll(async () => {
    await selectBackend('webgpu');
  });
  afterAll(async () => {
    process.stdout.write(`worst relative errors (fused vs reference)\n| variant | shape | output and gradients |\n|---|---|---|\n${table.join('\n')}\n`);
    await selectBackend('wasm');
  });
  const viaDispatcher = (c: Case): Attention => (q, k, v) => attendCausal(q, k, v, 0.3, c.window ?? 0);

  const causalCases: Case[] = [
    { variant: 'causal', b: 2, h: 2, hk: 2, hv: 2, t: 70, s: 70 },
    { variant: 'causal, KV-cache offset', b: 1, h: 2, hk: 2, hv: 2, t: 40, s: 70 },
    { variant: 'decode step', b: 2, h: 2, hk: 2, hv: 2, t: 1, s: 70 },
    { variant: 'sliding window', b: 1, h: 2, hk: 2, hv: 2, t: 150, s: 150, window: 20 },
    { variant: 'window, offset', b: 1, h: 2, hk: 2, hv: 2, t: 40, s: 70, window: 16 },
    { variant: 'grouped KV (Hk != Hv)', b: 2, h: 4, hk: 2, hv: 1, t: 70, s: 70 },
    { variant: 'grouped KV, window, offset', b: 1, h: 4, hk: 1, hv: 2, t: 33, s: 50, window: 24 },
    { variant: 'head dims not multiples of 4', b: 1, h: 2, hk: 2, hv: 2, t: 37, s: 45, dh: 6, dv: 5 },
  ];
  for (const c of causalCases) it(`${c.variant}: T ${c.t}, S ${c.s}`, () => expectFusedAgrees(c, viaDispatcher(c)));

  it('no mask (every key visible): T 33, S 70', () => expectFusedAgrees({ variant: 'no mask', b: 1, h: 2, hk: 2, hv: 2, t: 33, s: 70, causal: false },
    (q, k, v) => attend(q, k, v, 0.3, null)));

  it('outputs split over dispatches under a lower binding limit', async () => {
    // q, k, v, dO are 17,920 B each; forward O|L rows 70 x 9 floats (2,520 B: 7 a dispatch, 2 dispatches),
    // dK|dV rows 70 x 16 (4,480 B: 4 a dispatch, 2 dispatches)
    const c: Case = { variant: 'split dispatches', b: 2, h: 4, hk: 4, hv: 4, t: 70, s: 70, dh: 8, dv: 8, limit: 17920 };
    const plan = planAttention({ batch: 2, heads: 4, keyHeads: 4, valueHeads: 4, queries: 70, keys: 70, headDim: 8, valueDim: 8 }, c.limit!)!;
    expect(['forward', 'dq', 'dkdv'].map((k) => plan.filter((d) => d.kernel === k).length)).toEqual([2, 1, 2]);
    await expectFusedAgrees(c, (q, k, v) => attendFusedWebgpu(q, k, v, 0.3, { causal: true, window: 0 }, c.limit)!);
  });

  const blockCases: BlockCase[] = [
    { b: 2, h: 2, t: 37, block: 8 }, // T no multiple of b; 64-row workgroups span several blocks
    { b: 1, h: 2, t: 150, block: 48 }, // blocks across workgroups, T no multiple of b
    { b: 1, h: 3, t: 20, block: 16 }, // T < 2b: block 1 only partly there
    { b: 1, h: 2, t: 45, block: 7, dh: 6, dv: 5 }, // head dims no multiple of 4
  ];
  for (const c of blockCases) it(`LeX blocks: T ${c.t}, b ${c.block}`, () => expectBlocksAgree(c));

  const pairCases: PairCase[] = [
    { variant: 'Diff pairs (key map per map, value head per pair)', b: 2, pairs: 2, hk: 4, hv: 2, t: 70, s: 70 },
    { variant: 'Diff pairs, grouped KV, λ per pair', b: 1, pairs: 4, hk: 4, hv: 2, t: 37, s: 37, perPair: true },
    { variant: 'Diff pairs, one key map for all, KV-cache offset', b: 1, pairs: 2, hk: 1, hv: 1, t: 30, s: 75 },
    { variant: 'Diff pairs, decode step', b: 2, pairs: 2, hk: 4, hv: 2, t: 1, s: 40 },
    { variant: 'Diff pairs, head dims not multiples of 4', b: 1, pairs: 2, hk: 4, hv: 2, t: 45, s: 45, dh: 6, dv: 10 },
  ];
  for (const c of pairCases) it(`${c.variant}: T ${c.t}, S ${c.s}`, () => expectPairsAgree(c));

  it('Diff pairs: outputs split over dispatches under a lower binding limit', async () => {
    // q 2 x 8 maps x 70 x 8 floats = 35,840 B, the limit; forward rows 70 x 34 floats (9,520 B: 3 a dispatch,
    // 3 dispatches for 8 pairs), dQ rows 70 x 16 (4,480 B: 8 a dispatch), dK|dV rows 70 x 32 (8,960 B: 4 a dispatch)
    const shape: AttentionShape = { batch: 2, heads: 8, keyHeads: 8, valueHeads: 4, queries: 70, keys: 70, headDim: 8, valueDim: 16 };
    const plan = planPairs(shape, 35840)!;
    expect(['forward', 'dq', 'dkdv'].map((k) => plan.filter((d) => d.kernel === k).length)).toEqual([3, 1, 2]);
    for (const d of plan) for (const b of d.bindings) expect(b.bytes).toBeLessThanOrEqual(35840);
    await expectPairsAgree({ variant: 'Diff pairs, split dispatches', b: 2, pairs: 4, hk: 8, hv: 4, t: 70, s: 70, limit: 35840 });
  });

  it('LeX blocks: outputs split over dispatches under a lower binding limit', async () => {
    // q, k, kPrev, v 70 x 8 x 4 heads x 2 = 17,920 B each; dK|dKPrev|dV rows 70 x 24 floats (6,720 B: 2 a dispatch)
    const shape: AttentionShape = { batch: 2, heads: 4, keyHeads: 4, valueHeads: 4, queries: 70, keys: 70, headDim: 8, valueDim: 8, keyCopies: 2 };
    const plan = planAttention(shape, 17920)!;
    expect(['forward', 'dq', 'dkdv'].map((k) => plan.filter((d) => d.kernel === k).length)).toEqual([2, 1, 4]);
    expect(plan.find((d) => d.kernel === 'forward')!.bindings.map((b) => b.name)).toContain('kPrev');
    await expectBlocksAgree({ b: 2, h: 4, t: 70, block: 16, dh: 8, dv: 8, limit: 17920 });
  });
});

describe('attention: the fused webgpu kernel binds no buffer past the device limit', () => {
  const h200Limit = 2 ** 31 - 4;
  const paperShape = (headDim: number): AttentionShape =>
    ({ batch: 8, heads: 12, keyHeads: 12, valueHeads: 12, queries: 32768, keys: 32768, headDim, valueDim: headDim });

  it('T = S = 32768, B 8, H 12, Dh 64 on the H200 limit: every binding fits, the outputs cover every row', () => {
    const plan = planAttention(paperShape(64), h200Limit)!;
    expect(plan).not.toBeNull();
    for (const d of plan) for (const b of d.bindings) expect(b.bytes, `${d.kernel} ${b.name}`).toBeLessThanOrEqual(h200Limit);
    for (const kernel of ['forward', 'dq', 'dkdv'] as const) {
      expect(plan.filter((d) => d.kernel === kernel).reduce((n, d) => n + d.count, 0)).toBe(8 * 12);
    }
    // the T x S scores alone would be 412 GB; the largest binding is O(T (Dh + Dv)): dK|dV, 1.6 GB
    expect(Math.max(...plan.flatMap((d) => d.bindings.map((b) => b.bytes)))).toBe(8 * 12 * 32768 * (64 + 64) * 4);
  });

  it('Dh 128: dK|dV (1.6 GB per 48 rows) goes in several dispatches; inputs past the limit refuse', () => {
    const plan = planAttention(paperShape(128), h200Limit)!;
    expect(plan.filter((d) => d.kernel === 'dkdv').length).toBeGreaterThan(1);
    for (const d of plan) for (const b of d.bindings) expect(b.bytes).toBeLessThanOrEqual(h200Limit);
    expect(planAttention(paperShape(64), 128 * 2 ** 20)).toBeNull(); // lavapipe's 128 MiB: q alone is 768 MiB
  });

  it("Diff's pairs at d768 (6 pairs, 12 maps of Dh 64, values 128), T 32768, B 8: every binding fits, every pair row covered", () => {
    const shape: AttentionShape = { batch: 8, heads: 12, keyHeads: 12, valueHeads: 6, queries: 32768, keys: 32768, headDim: 64, valueDim: 128 };
    const plan = planPairs(shape, h200Limit)!;
    expect(plan).not.toBeNull();
    for (const d of plan) for (const b of d.bindings) expect(b.bytes, `${d.kernel} ${b.name}`).toBeLessThanOrEqual(h200Limit);
    for (const kernel of ['forward', 'dq', 'dkdv'] as const) {
      expect(plan.filter((d) => d.kernel === kernel).reduce((n, d) => n + d.count, 0)).toBe(8 * 6);
    }
    // the largest binding is O(T (2 Dv + 2)): the forward's O|O2|L1|L2, 48 rows of 32768 x 258 floats (1.6 GB)
    expect(Math.max(...plan.flatMap((d) => d.bindings.map((b) => b.bytes)))).toBe(8 * 6 * 32768 * 258 * 4);
  });
});
