// The one trainer (harness/train/). Data-parallel training (parallel.ts) matches the one-thread run: the
// same loss curve and the same weights within float tolerance for the same global batch, for any number
// of workers (uneven shards and masked losses included), and the number of workers is recorded.
// openTrainer's steps are train()'s, bit for bit, on one thread and data-parallel; train() chooses its
// strategy before it takes a batch; the flat AdamW it runs matches the optim family's tfjs reference
// applied per parameter.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture, registerArchitecture } from '../architectures/index.ts';
import type { LanguageModel } from '../architectures/interface.ts';
import { Params } from '../architectures/layers.ts';
import { adamwReference } from '../architectures/ops/optim/reference.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { type Batch, type WindowStream, batches, textStream } from '../harness/data/streams.ts';
import { corpusStream, matchedConfig, trainedModel } from '../harness/models.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { MIN_PARALLEL_STEPS, defaultWorkers, openTrainer, train } from '../harness/train/index.ts';
import { FlatAdamW, FlatLayout, clipScale, learningRate, sumSquares } from '../harness/train/optim.ts';
import { stopWorkers } from '../harness/train/parallel.ts';
import { gradients } from '../harness/train/step.ts';
import { CPU_BACKENDS, relMax, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(async () => {
  await stopWorkers();
});

const spec = getArchitecture('transformer')!;
const config = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
const trainCfg: TrainConfig = { ...PRESETS.tiny!.train, batch: 6, steps: 8, warmup: 2 };
const text = textStream(loadCorpus('default').splits.train, { test: 'parallel' });
const data = (): Iterator<Batch> => batches(text, { batch: trainCfg.batch, seq: config.seq, seed: 5 });

function weightsOf(model: LanguageModel): Float32Array {
  const layout = new FlatLayout(model.params.vars);
  const w = new Float32Array(layout.total);
  layout.read(model.params.vars, w);
  return w;
}

/** A text stream whose loss mask keeps only some positions (a different count per window). */
function maskedStream(): WindowStream {
  return {
    spec: { kind: 'masked', ...text.spec },
    window(rng, seq) {
      const w = text.window(rng, seq);
      const keep = 1 + (w.tokens[0]! % seq);
      return { tokens: w.tokens, mask: w.mask.map((_, i) => (i < keep ? 1 : 0)) };
    },
  };
}

async function run(workers: number, stream: WindowStream): Promise<{ losses: number[]; weights: Float32Array; workers: number }> {
  const model = spec.build(config, new Params(1));
  try {
    const r = await train(model, batches(stream, { batch: trainCfg.batch, seq: config.seq, seed: 3 }), trainCfg, { workers });
    return { losses: r.losses, weights: weightsOf(model), workers: r.workers };
  } finally {
    model.params.dispose();
  }
}

describe.each(CPU_BACKENDS)('data-parallel training on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await useBackend('wasm');
  });
  let one: Awaited<ReturnType<typeof run>>;

  it('one worker: the reference run', async () => {
    one = await run(1, text);
    expect(one.workers).toBe(1);
    expect(one.losses).toHaveLength(trainCfg.steps);
    expect(one.losses.at(-1)!).toBeLessThan(one.losses[0]!);
  });

  for (const n of [2, 3]) {
    it(`${n} workers: the same loss curve and weights within float tolerance (batch 6 over ${n})`, async () => {
      const many = await run(n, text);
      expect(many.workers).toBe(n);
      expect(many.losses).toHaveLength(one.losses.length);
      expect(relMax(many.losses, one.losses)).toBeLessThan(1e-5);
      expect(relMax(many.weights, one.weights)).toBeLessThan(1e-4);
    });
  }

  it('masked losses: shards with different mask sums add up to the whole batch', async () => {
    const ref = await run(1, maskedStream());
    const par = await run(4, maskedStream());
    expect(par.workers).toBe(4);
    expect(relMax(par.losses, ref.losses)).toBeLessThan(1e-5);
    expect(relMax(par.weights, ref.weights)).toBeLessThan(1e-4);
  });

  it('trainedModel records the number of workers', async () => {
    const { config: cfg } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const m = await trainedModel(new ModelCache(tempDir()), {
      spec, config: cfg, seed: 0, stream: corpusStream(loadCorpus('default')), train: { ...PRESETS.tiny!.train, steps: 3 }, purpose: 'text',
    });
    expect(m.info.workers).toBeGreaterThanOrEqual(1);
    m.model.params.dispose();
  });
});

describe('the default number of workers', () => {
  it('ARCHBENCH_WORKERS decides when set (capped by the batch); tiny runs use one thread', () => {
    const model = spec.build(config, new Params(0));
    const prev = process.env.ARCHBENCH_WORKERS;
    try {
      process.env.ARCHBENCH_WORKERS = '3';
      expect(defaultWorkers(model, trainCfg)).toBe(3);
      process.env.ARCHBENCH_WORKERS = '64';
      expect(defaultWorkers(model, trainCfg)).toBe(trainCfg.batch);
      delete process.env.ARCHBENCH_WORKERS;
      expect(defaultWorkers(model, { ...trainCfg, steps: MIN_PARALLEL_STEPS - 1 })).toBe(1);
    } finally {
      if (prev === undefined) delete process.env.ARCHBENCH_WORKERS;
      else process.env.ARCHBENCH_WORKERS = prev;
      model.params.dispose();
    }
  });
});

describe('openTrainer: train() is its steps under the schedule', () => {
  for (const workers of [1, 2]) {
    it(`${workers} participant(s): the same losses and bit-identical weights as train() over the same batches`, async () => {
      const a = spec.build(config, new Params(1)), b = spec.build(config, new Params(1));
      try {
        const whole = await train(a, data(), trainCfg, { workers });
        const trainer = await openTrainer(b, trainCfg, { workers });
        const losses: number[] = [];
        try {
          expect(trainer.workers).toBe(workers);
          const source = data();
          for (let step = 0; step < trainCfg.steps; step++) losses.push(await trainer.step(source.next().value as Batch, learningRate(trainCfg, step)));
        } finally {
          trainer.close();
        }
        expect(whole.workers).toBe(workers);
        expect(losses).toEqual(whole.losses);
        expect(weightsOf(b)).toEqual(weightsOf(a));
      } finally {
        a.params.dispose();
        b.params.dispose();
      }
    });
  }

  it('a data-parallel trainer takes one batch shape: another is refused and the trainer goes on', async () => {
    const model = spec.build(config, new Params(1));
    const trainer = await openTrainer(model, trainCfg, { workers: 2 });
    try {
      const b = data().next().value as Batch;
      await expect(trainer.step({ ...b, batch: 2, tokens: b.tokens.slice(0, 2 * 17), mask: b.mask.slice(0, 2 * 16) }, 1e-3)).rejects.toThrow(/batch shape 2x16/);
      expect(Number.isFinite(await trainer.step(b, 1e-3))).toBe(true);
    } finally {
      trainer.close();
      model.params.dispose();
    }
  });
});

describe('train(): the strategy is chosen before any batch is taken', () => {
  // registered in this thread only: the workers cannot build its replica, so the data-parallel set-up fails
  registerArchitecture({ ...spec, name: 'main-thread-only', configure: (size, o) => ({ ...spec.configure(size, o), arch: 'main-thread-only' }) });
  const local = getArchitecture('main-thread-only')!;
  const localConfig = local.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });

  it('workers that cannot set up: logged, then one thread, before the first batch; the one-thread weights', async () => {
    const events: string[] = [];
    const source = data();
    const counted: Iterator<Batch> = { next: () => (events.push('batch'), source.next()) };
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (events.push(`log: ${s}`), true)) as typeof process.stderr.write;
    const model = local.build(localConfig, new Params(1)), ref = local.build(localConfig, new Params(1));
    try {
      const r = await train(model, counted, trainCfg, { workers: 2 });
      process.stderr.write = write;
      expect(r.workers).toBe(1);
      expect(events[0]).toMatch(/^log: data-parallel training with 2 participants not possible \(the workers could not set up .*not registered in the worker.*\); training on one thread/s);
      expect(events.slice(1)).toEqual(Array(trainCfg.steps).fill('batch'));
      const one = await train(ref, data(), trainCfg, { workers: 1 });
      expect(r.losses).toEqual(one.losses);
      expect(weightsOf(model)).toEqual(weightsOf(ref));
    } finally {
      process.stderr.write = write;
      model.params.dispose();
      ref.params.dispose();
    }
  });
});

describe('the flat AdamW on a model matches the optim reference applied per parameter', () => {
  it('three steps with clipping: weights within 1e-5 relative', async () => {
    const clipped: TrainConfig = { ...trainCfg, clip: 0.05 };
    const batchesOf = [...Array(3)].map((_, i) => batches(text, { batch: 2, seq: 16, seed: i }).next().value!);
    const a = spec.build(config, new Params(2)), b = spec.build(config, new Params(2));
    const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>([...a.params.vars].map(([n, w]) => [n, { m: tf.zerosLike(w), v: tf.zerosLike(w) }]));
    const layout = new FlatLayout(b.params.vars);
    const flat = new FlatAdamW(clipped, layout);
    const w = weightsOf(b), g = new Float32Array(layout.total);
    const norms: number[] = [];
    for (const [i, batch] of batchesOf.entries()) {
      const lr = 1e-2 * (i + 1);
      // reference: the global norm in tf ops, then each parameter's update (decay on matrices only)
      const ga = await gradients(a, batch);
      const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(ga.grads).map((x) => tf.sum(tf.square(x))))).dataSync()[0]!);
      norms.push(norm);
      for (const [n, v] of a.params.vars) {
        const mv = moments.get(n)!;
        const next = adamwReference(v, ga.grads[n]!, mv.m, mv.v, {
          lr, beta1: clipped.beta1, beta2: clipped.beta2, decay: v.rank >= 2 ? clipped.weightDecay : 0, t: i + 1, gradScale: clipScale(norm, clipped.clip),
        });
        v.assign(next.w);
        tf.dispose([mv.m, mv.v, next.w]);
        moments.set(n, { m: next.m, v: next.v });
      }
      tf.dispose(ga.grads);
      // the trainer's AdamW over the flat layout
      const gb = await gradients(b, batch);
      layout.write(gb.grads, g);
      tf.dispose(gb.grads);
      flat.apply(g, w, lr, clipScale(Math.sqrt(sumSquares(g)), clipped.clip));
      layout.assign(b.params.vars, w);
    }
    expect(Math.min(...norms)).toBeGreaterThan(clipped.clip); // every step was clipped
    expect(relMax(weightsOf(b), weightsOf(a))).toBeLessThan(1e-5);
    for (const { m, v } of moments.values()) tf.dispose([m, v]);
    a.params.dispose();
    b.params.dispose();
  });
});
