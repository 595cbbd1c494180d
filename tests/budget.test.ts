// Budgets calibrated on the reference (suites/tasks/training.ts budgetedModel) and the stop hook of train()
// under them: a stopped run equals a run of that length, on one thread and data-parallel; the reference
// trains once per preset and seed, and every other architecture gets the steps it took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { batches, textStream } from '../harness/data/streams.ts';
import { PeakMeter } from '../harness/measure.ts';
import { disposeModel, matchedConfig, textModelOf } from '../harness/models.ts';
import { stopWorkers } from '../harness/train/parallel.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { train } from '../harness/train/index.ts';
import { FlatLayout } from '../harness/train/optim.ts';
import { iclTask } from '../suites/icl/episodes.ts';
import type { SuiteContext } from '../suites/interface.ts';
import { sideEpisodes } from '../suites/tasks/calibrate.ts';
import { taskStream } from '../suites/tasks/episodes.ts';
import { TASK_ADAMW, budgetedModel, ownBudgetModel, taskConfig, type BudgetProbe, type TaskTraining } from '../suites/tasks/training.ts';
import { relMax, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(async () => {
  await stopWorkers();
});

const corpus = loadCorpus('default');

describe('train(): the stop hook', () => {
  const spec = getArchitecture('transformer')!;
  const config = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
  const cfg: TrainConfig = { ...PRESETS.tiny!.train, batch: 4, steps: 8, warmup: 2 };
  const text = textStream(corpus.splits.train, { test: 'budget' });
  const weightsAfter = async (steps: number, workers: number, stop?: (done: number) => boolean) => {
    const model = spec.build(config, new Params(1));
    try {
      const r = await train(model, batches(text, { batch: cfg.batch, seq: config.seq, seed: 3 }), { ...cfg, steps }, { workers, ...(stop ? { stop } : {}) });
      const layout = new FlatLayout(model.params.vars);
      const w = new Float32Array(layout.total);
      layout.read(model.params.vars, w);
      return { steps: r.steps, losses: r.losses, w };
    } finally {
      model.params.dispose();
    }
  };

  it('stops after the step the hook names: the first steps of the full run, on one thread and data-parallel', async () => {
    const full = await weightsAfter(8, 1);
    const asked: number[] = [];
    const one = await weightsAfter(8, 1, (done) => (asked.push(done), done === 5));
    expect(one.steps).toBe(5);
    expect(asked).toEqual([1, 2, 3, 4, 5]);
    expect(one.losses).toEqual(full.losses.slice(0, 5));
    const two = await weightsAfter(8, 2, (done) => done === 5);
    expect(two.steps).toBe(5);
    expect(relMax(two.losses, one.losses)).toBeLessThan(1e-5);
    expect(relMax(two.w, one.w)).toBeLessThan(1e-4);
    // the worker pool is left in order: a full data-parallel run afterwards
    const after = await weightsAfter(8, 2);
    expect(after.steps).toBe(8);
    expect(relMax(after.losses, full.losses)).toBeLessThan(1e-5);
  });
});

describe('budgetedModel: a budget calibrated on the reference', () => {
  const tiny = PRESETS.tiny!;
  const cache = new ModelCache(tempDir());
  const ctxFor = (arch: string): SuiteContext => {
    const spec = getArchitecture(arch)!;
    return {
      preset: tiny, seed: 0, spec, matched: matchedConfig(spec, tiny, 'params'), corpus, cache, meter: new PeakMeter(),
      textModel: () => {
        throw new Error('no text model in this test');
      },
    };
  };
  const task = iclTask({ format: 'compact', inputs: 4, labels: 2, inputPool: 8, labelPool: 8 });
  const stream = taskStream(task, [{ demos: 0, layout: 'stream' }]);
  const training = (target: number): TaskTraining => ({
    init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 6 }, calibrate: { every: 2, target, probe: 8 },
  });
  const probeFor = (ctx: SuiteContext, t: TaskTraining): BudgetProbe => {
    const seq = taskConfig(ctx, t).seq;
    return { episodes: sideEpisodes(task, { demos: 4 }, seq, 8, ctx.seed, 'test', 'budget-probe'), spec: { demos: 4, seq, count: 8 } };
  };
  const budgetOf = async (arch: string, t: TaskTraining) => {
    const ctx = ctxFor(arch);
    const { trained, budget } = await budgetedModel(ctx, 'task:budget-test', stream, t, probeFor(ctx, t));
    disposeModel(trained.model);
    return { info: trained.info, budget };
  };

  it('the reference stops at the first check that reaches the target; another architecture trains as many steps', async () => {
    const ref = await budgetOf('transformer', training(0));
    expect(ref.info.steps).toBe(2);
    expect(ref.budget.steps).toBe(2);
    expect(ref.budget.how).toMatch(/calibrated on transformer seed 0: probe \d+\/8 .* at step 2/);
    const other = await budgetOf('diff', training(0));
    expect(other.budget.steps).toBe(2);
    expect(other.info.steps).toBe(2);
    expect(other.info.cache).toBe('trained');
    // the reference was trained once: asked again, it comes from the cache
    expect((await budgetOf('transformer', training(0))).info.cache).toBe('hit');
  });

  it('a target the reference never reaches leaves every architecture at the cap', async () => {
    const ref = await budgetOf('transformer', training(1.01));
    expect(ref.info.steps).toBe(6);
    expect(ref.budget.how).toMatch(/at step 6, target 1.01 \(cap 6\)/);
    expect((await budgetOf('retnet', training(1.01))).info.steps).toBe(6);
  });

  it('fallback recipes: tried in turn from the start while the reference hits the cap; every architecture trains under the one that reached the target', async () => {
    // the cap (3) comes before the first check (4): the recipe never reaches the target; the fallback's cap (8) passes it
    const t: TaskTraining = { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 3 }, calibrate: { every: 4, target: 0, probe: 8, fallbacks: [{ steps: 8, batch: 2 }, { steps: 8, batch: 8 }] } };
    const ref = await budgetOf('transformer', t);
    expect(ref.info.steps).toBe(4);
    expect(ref.budget.steps).toBe(4);
    expect(ref.budget.training.train).toMatchObject({ steps: 8, batch: 2 });
    expect(ref.budget.how).toMatch(/^calibrated on transformer seed 0: not checked \(cap 3\); then fallback 1 \(steps 8, batch 2\): probe \d+\/8 = [\d.]+ at step 4, target 0 \(cap 8\)$/);
    expect(ref.info.tokens).toBe(4 * 2 * taskConfig(ctxFor('transformer'), t).seq);
    const other = await budgetOf('lex', t);
    expect(other.budget).toEqual(ref.budget);
    expect(other.info.steps).toBe(4);
    expect(other.info.tokens).toBe(ref.info.tokens); // the fallback's batch, not the recipe's
    // where no recipe reaches the target, the last one tried stands, at its cap
    const never: TaskTraining = { ...t, calibrate: { ...t.calibrate!, target: 1.01 } };
    const capped = await budgetOf('transformer', never);
    expect(capped.budget.training.train).toMatchObject({ steps: 8, batch: 8 });
    expect(capped.info.steps).toBe(8);
    expect(capped.budget.how.split('; then ')).toHaveLength(3);
  });

  it('own budget: the unit stops where its own probe reaches the target, before the shared budget; none for the reference or when not reached', async () => {
    const ownOf = async (arch: string, t: TaskTraining) => {
      const ctx = ctxFor(arch);
      const own = await ownBudgetModel(ctx, 'task:budget-test', stream, t, probeFor(ctx, t), 6);
      if (own) disposeModel(own.trained.model);
      return own;
    };
    const diff = await ownOf('diff', training(0));
    expect(diff?.budget.steps).toBe(2);
    expect(diff?.budget.how).toMatch(/^own budget: probe \d+\/8 .* at step 2, target 0 \(the shared budget is 6\)/);
    expect(await ownOf('transformer', training(0))).toBeNull();
    expect(await ownOf('diff', training(1.01))).toBeNull();
  });

  it('a recipe that starts from text: the reference starts from its own text checkpoint, even when another architecture\'s unit asks first', async () => {
    const withText = (arch: string): SuiteContext => {
      const ctx = ctxFor(arch);
      return { ...ctx, textModel: () => textModelOf(cache, { spec: ctx.spec, config: ctx.matched.config, seed: 0, corpus, preset: tiny }) };
    };
    const t: TaskTraining = { ...training(0.5), init: 'text' };
    const run = async (arch: string) => {
      const ctx = withText(arch);
      const { trained, budget } = await budgetedModel(ctx, 'task:budget-text', stream, t, probeFor(ctx, t));
      disposeModel(trained.model);
      return { info: trained.info, budget };
    };
    const other = await run('retnet');
    const refText = await withText('transformer').textModel();
    disposeModel(refText.model);
    expect(refText.info.cache).toBe('hit'); // the retnet unit made the reference's text checkpoint to start the reference from
    const ref = await run('transformer');
    expect(ref.info.cache).toBe('hit'); // the retnet unit trained the reference's base first
    expect(other.budget).toEqual(ref.budget);
    expect(other.info.steps).toBe(ref.budget.steps);
    expect(ref.budget.how).toMatch(/^calibrated on transformer seed 0: probe \d+\/8 = [\d.]+ at step \d, target 0.5 \(cap 6\)/);
  });

  it('without calibration the preset fixes the budget', async () => {
    const { calibrate: _none, ...fixed } = training(0);
    const r = await budgetOf('retnet', fixed);
    expect(r.budget).toEqual({ steps: 6, how: 'fixed by the preset', training: fixed });
    expect(r.info.steps).toBe(6);
  });
});
