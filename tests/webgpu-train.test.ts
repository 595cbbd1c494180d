// Training and the golden checks on the webgpu backend (Dawn; lavapipe on CPU machines): every architecture
// trains a few steps from the same weights on the same batches as on wasm, and its losses agree with wasm's
// step by step within LOSS_TOLERANCE; `verify --golden` passes on webgpu. Where Dawn finds no adapter the
// tests say why and skip; CI installs lavapipe, so there they must run.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mainArchitectureNames, getArchitecture } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { textStream, batches } from '../harness/data/streams.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { train } from '../harness/train/index.ts';
import { startDawn } from '../harness/webgpu.ts';
import { cli, useBackend } from './helpers.ts';

const facts = await startDawn().catch((e: Error) => ({ problem: e.message }));
if ('problem' in facts) process.stderr.write(`webgpu training is not tested here: ${facts.problem}\n`);
if ('problem' in facts && process.env.CI) throw new Error(`CI must test webgpu: ${facts.problem}`);

/**
 * Per-step relative difference allowed between webgpu's and wasm's losses. Both compute in float32 but sum
 * in different orders (WGSL kernels, XNNPACK): on lavapipe every architecture's four losses agree within
 * 2e-7 (a float32 ulp or two). A GPU's own kernels (tiled or subgroup reductions) and AdamW, which turns a
 * rounding difference in a near-zero gradient into a full-size update, can widen that by orders of
 * magnitude over a few steps; 1e-4 leaves 500x room over what lavapipe shows, while a wrong kernel (a missing
 * mask, a transposed operand, a wrong gradient) moves the loss by 1e-2 or more within these steps.
 */
const LOSS_TOLERANCE = 1e-4;

const corpus = loadCorpus('default');
const trainCfg: TrainConfig = { ...PRESETS.tiny!.train, batch: 2, steps: 4, warmup: 1 };

/** Losses of `steps` training steps of `arch` at tiny shapes on `backend`, from the given initial weights. */
async function losses(arch: string, backend: string, init?: Map<string, Float32Array>): Promise<{ losses: number[]; init: Map<string, Float32Array> }> {
  await useBackend(backend);
  const spec = getArchitecture(arch)!;
  const model = spec.build(spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 }), new Params(1));
  try {
    if (init) for (const [n, v] of model.params.vars) tf.tidy(() => v.assign(tf.tensor(init.get(n)!, v.shape)));
    const start = new Map<string, Float32Array>();
    for (const [n, v] of model.params.vars) start.set(n, (await v.data()) as Float32Array);
    const stream = textStream(corpus.splits.train, { test: 'webgpu-train' });
    const r = await train(model, batches(stream, { batch: trainCfg.batch, seq: 16, seed: 5 }), trainCfg, { workers: 1 });
    return { losses: r.losses, init: start };
  } finally {
    model.params.dispose();
  }
}

const relDiffs = (a: number[], b: number[]): number[] => a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!));

describe.runIf(!('problem' in facts))('training on webgpu', () => {
  // Every wasm reference first: tensors the models cache across calls (masks, rotation tables) then move
  // from wasm to webgpu only, never back (a move off webgpu is a synchronous read).
  const refs = new Map<string, Awaited<ReturnType<typeof losses>>>();
  beforeAll(async () => {
    for (const arch of mainArchitectureNames()) refs.set(arch, await losses(arch, 'wasm'));
  }, 600_000);

  for (const arch of mainArchitectureNames()) {
    it(`${arch}: ${trainCfg.steps} steps, each loss within ${LOSS_TOLERANCE} relative of wasm's`, async () => {
      const ref = refs.get(arch)!;
      const gpu = await losses(arch, 'webgpu', ref.init);
      expect(gpu.losses).toHaveLength(trainCfg.steps);
      expect(ref.losses).toHaveLength(trainCfg.steps);
      const diffs = relDiffs(gpu.losses, ref.losses);
      process.stderr.write(`${arch}: webgpu vs wasm loss relative differences per step ${diffs.map((d) => d.toExponential(1)).join(' ')}\n`);
      for (const d of diffs) expect(d).toBeLessThan(LOSS_TOLERANCE);
    }, 600_000);
  }

  it('verify (fixtures/golden) passes on webgpu', async () => {
    const r = await cli(['verify', '--backend', 'webgpu']);
    expect(r.err).toMatch(/webgpu/);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/(\d+) checks, \1 passed, 0 failed/);
  }, 600_000);
});
