// Data-parallel training (harness/train/parallel.ts) matches the one-thread run: the same loss curve and the
// same weights within float tolerance for the same global batch, for any number of workers (uneven
// shards and masked losses included), and the number of workers is recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { type WindowStream, batches, textStream } from '../harness/data/streams.ts';
import { corpusStream, matchedConfig, trainedModel } from '../harness/models.ts';
import { stopWorkers } from '../harness/train/parallel.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { MIN_PARALLEL_STEPS, defaultWorkers, train } from '../harness/train/index.ts';
import { FlatLayout } from '../harness/train/optim.ts';
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

/** A text stream whose loss mask keeps only some positions (a different count per window). */
function maskedStream(): WindowStream {
  const text = textStream(loadCorpus('default').splits.train, { test: 'parallel' });
  return {
    spec: { kind: 'masked', ...text.spec },
    window(rng, seq) {
      const w = text.window(rng, seq);
      const keep = 1 + (w.tokens[0]! % seq);
      return { tokens: w.tokens, mask: w.mask.map((_, i) => (i < keep ? 1 : 0)) };
    },
  };
}

function run(workers: number, stream: WindowStream): { losses: number[]; weights: Float32Array; workers: number } {
  const model = spec.build(config, new Params(1));
  try {
    const r = train(model, batches(stream, { batch: trainCfg.batch, seq: config.seq, seed: 3 }), trainCfg, { workers });
    const layout = new FlatLayout(model.params.vars);
    const weights = new Float32Array(layout.total);
    layout.read(model.params.vars, weights);
    return { losses: r.losses, weights, workers: r.workers };
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
  const text = textStream(loadCorpus('default').splits.train, { test: 'parallel' });
  let one: ReturnType<typeof run>;

  it('one worker: the reference run', () => {
    one = run(1, text);
    expect(one.workers).toBe(1);
    expect(one.losses).toHaveLength(trainCfg.steps);
    expect(one.losses.at(-1)!).toBeLessThan(one.losses[0]!);
  });

  for (const n of [2, 3]) {
    it(`${n} workers: the same loss curve and weights within float tolerance (batch 6 over ${n})`, () => {
      const many = run(n, text);
      expect(many.workers).toBe(n);
      expect(many.losses).toHaveLength(one.losses.length);
      expect(relMax(many.losses, one.losses)).toBeLessThan(1e-5);
      expect(relMax(many.weights, one.weights)).toBeLessThan(1e-4);
    });
  }

  it('masked losses: shards with different mask sums add up to the whole batch', () => {
    const ref = run(1, maskedStream());
    const par = run(4, maskedStream());
    expect(par.workers).toBe(4);
    expect(relMax(par.losses, ref.losses)).toBeLessThan(1e-5);
    expect(relMax(par.weights, ref.weights)).toBeLessThan(1e-4);
  });

  it('trainedModel records the number of workers', () => {
    const { config: cfg } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const m = trainedModel(new ModelCache(tempDir()), {
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
