// The GPU update (harness/train/gpu-update.ts) against the host update (HostUpdate: FlatAdamW) on webgpu:
// from the same weights on the same batches, each step's loss and the final weights agree within 1e-5
// relative, without clipping, with clipping active (a small cfg.clip) and with the flat vector split into
// two pieces; a step leaks no tensor. The one-thread trainer takes the GPU update on webgpu with the fast
// paths on (the host update with them off) and releases its state when closed. Prints the measured
// differences and each update's median step time (lavapipe's where Dawn runs on it).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { setFastPath } from '../architectures/ops/fast-path.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { type Batch, batches, textStream } from '../harness/data/streams.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { GpuUpdate } from '../harness/train/gpu-update.ts';
import { openTrainer } from '../harness/train/index.ts';
import { HostUpdate, LocalTrainer } from '../harness/train/local.ts';
import { FlatLayout, learningRate } from '../harness/train/optim.ts';
import { type Update, gradients } from '../harness/train/step.ts';
import { relMax } from './helpers.ts';
import { describeOnWebgpu } from './webgpu-agreement.ts';

/** Relative agreement required of the two updates, per step's loss and over the final weights. */
const TOL = 1e-5;
const STEPS = 4;
const spec = getArchitecture('transformer')!;
const config = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
const noClip: TrainConfig = { ...PRESETS.tiny!.train, batch: 2, steps: STEPS, warmup: 1, clip: Infinity };
/** Far below the gradient's norm: every step is clipped, and the scaled gradient is small enough that Adam's epsilon shows. */
const clipped: TrainConfig = { ...noClip, clip: 1e-3 };

interface Run {
  losses: number[];
  weights: Float32Array;
  /** Tensors alive after the last step minus after the first (models cache tables on their first call). */
  leaked: number;
  /** Median time of a step (gradients and update) after the first, in ms. */
  stepMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const lossDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!)));

describeOnWebgpu('the GPU update agrees with the host update', () => {
  const data: Batch[] = [];
  const init = new Map<string, Float32Array>();
  let total = 0, firstNorm = 0;

  beforeAll(async () => {
    const it = batches(textStream(loadCorpus('default').splits.train, { test: 'webgpu-adamw-update' }), { batch: noClip.batch, seq: config.seq, seed: 5 });
    for (let i = 0; i < STEPS; i++) data.push(it.next().value as Batch);
    const model = spec.build(config, new Params(1));
    for (const [n, v] of model.params.vars) init.set(n, (await v.data()) as Float32Array);
    total = new FlatLayout(model.params.vars).total;
    const { grads } = await gradients(model, data[0]!);
    const sumSquares = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
    firstNorm = Math.sqrt((await sumSquares.data())[0]!);
    tf.dispose([sumSquares, grads]);
    model.params.dispose();
  });

  /** STEPS steps of `update` on a fresh model holding the initial weights. */
  async function run(open: (model: ReturnType<typeof spec.build>) => Update | Promise<Update>, cfg: TrainConfig): Promise<Run> {
    const model = spec.build(config, new Params(1));
    for (const [n, v] of model.params.vars) tf.tidy(() => v.assign(tf.tensor(init.get(n)!, v.shape)));
    const update = await open(model);
    const losses: number[] = [], times: number[] = [];
    let afterFirst = 0;
    for (const [step, b] of data.entries()) {
      const t0 = performance.now();
      const { loss, grads } = await gradients(model, b);
      await update.apply(grads, learningRate(cfg, step));
      times.push(performance.now() - t0);
      losses.push(loss);
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    const leaked = tf.memory().numTensors - afterFirst;
    const layout = new FlatLayout(model.params.vars), weights = new Float32Array(layout.total);
    await layout.readAsync(model.params.vars, weights);
    update.dispose?.();
    model.params.dispose();
    return { losses, weights, leaked, stepMs: median(times.slice(1)) };
  }

  const runs = new Map<string, Promise<Run>>();
  /** Each run once (the cases share the host's). */
  const cached = (key: string, f: () => Promise<Run>): Promise<Run> => runs.get(key) ?? runs.set(key, f()).get(key)!;
  const host = (cfg: TrainConfig) => cached(`host ${cfg.clip}`, () => run((m) => HostUpdate.open(m.params.vars, cfg), cfg));
  const gpu = (cfg: TrainConfig, pieces: number) => cached(`gpu ${cfg.clip} ${pieces}`, () => run((m) => {
    const u = new GpuUpdate(m.params.vars, cfg, undefined, Math.ceil(total / pieces));
    expect(u.description).toContain(`${pieces} piece`);
    return u;
  }, cfg));

  it.each([
    ['no clipping', noClip, 1],
    ['clipping active', clipped, 1],
    ['clipping active, two pieces', clipped, 2],
  ] as const)(`%s: ${STEPS} steps' losses and the final weights within ${TOL} relative of the host update's, no tensor leaked`, async (label, cfg, pieces) => {
    if (cfg.clip < Infinity) expect(firstNorm).toBeGreaterThan(10 * cfg.clip);
    const [g, h] = [await gpu(cfg, pieces), await host(cfg)];
    const losses = lossDiff(g.losses, h.losses), weights = relMax(g.weights, h.weights);
    process.stderr.write(`gpu vs host update, ${label} (${pieces} piece${pieces > 1 ? 's' : ''}, first gradient norm ${firstNorm.toFixed(3)}): `
      + `worst loss difference ${losses.toExponential(1)}, weights ${weights.toExponential(1)} relative; `
      + `median step ${g.stepMs.toFixed(0)} ms on the GPU update, ${h.stepMs.toFixed(0)} ms on the host update\n`);
    expect(losses).toBeLessThanOrEqual(TOL);
    expect(weights).toBeLessThanOrEqual(TOL);
    expect(relMax(g.weights, Float32Array.from([...init.values()].flatMap((w) => [...w])))).toBeGreaterThan(1e-3); // the weights did move
    expect(g.leaked).toBe(0);
    expect(h.leaked).toBe(0);
  });

  it('clipping changes the result here (so the agreement above covers it)', async () => {
    expect(relMax((await gpu(clipped, 1)).weights, (await host(noClip)).weights)).toBeGreaterThan(100 * TOL);
  });

  it('the one-thread trainer takes the GPU update with the fast paths on, the host update with them off, and releases it', async () => {
    const model = spec.build(config, new Params(1));
    const before = tf.memory().numTensors;
    for (const fast of [true, false]) {
      setFastPath(fast);
      const trainer = await LocalTrainer.open(model, noClip);
      expect(trainer.update).toBeInstanceOf(fast ? GpuUpdate : HostUpdate);
      trainer.close();
      expect(tf.memory().numTensors).toBe(before);
    }
    model.params.dispose();
  });

  it('data-parallel workers are refused on webgpu before any batch (asked for 2, one thread trains)', async () => {
    const model = spec.build(config, new Params(1));
    const trainer = await openTrainer(model, { ...noClip, batch: 2 }, { workers: 2 });
    expect(trainer.workers).toBe(1);
    trainer.close();
    model.params.dispose();
  });
});
