// Task models: trained on a task's own stream (loss on answer positions only), from scratch or from the
// (architecture, preset, seed) text checkpoint, with one step budget, batch and optimizer for every
// architecture. Cached like text models (purpose 'task:<name>').
import type { ArchitectureSpec, LanguageModel, ModelConfig } from '../../architectures/interface.ts';
import type { InitScheme } from '../../architectures/layers.ts';
import { getArchitecture } from '../../architectures/registry.ts';
import { REFERENCE_ARCH, disposeModel, matchedConfig, textModelOf, trainedModel, type StopRule, type TrainedModel } from '../../harness/models.ts';
import type { TrainConfig } from '../../harness/presets.ts';
import type { Measurement, SuiteContext } from '../interface.ts';
import type { WindowStream } from '../../harness/data/streams.ts';
import { exactCounts } from './calibrate.ts';
import { taskStream, type Episode, type EpisodeTask } from './episodes.ts';

export type TaskInit = 'scratch' | 'text';

/** How a preset trains one task's models (plain data: it goes into the suite's settings). */
export interface TaskTraining {
  init: TaskInit;
  /** Optimizer and schedule; unspecified fields come from the preset's text training. */
  train: Partial<TrainConfig> & { steps: number; batch: number };
  /**
   * The task model's shape where it differs from the text model's (fewer layers, a shorter context T),
   * applied to every architecture's matched config alike. Scratch models only.
   */
  shape?: { layers?: number; seq?: number };
  /** Initial weights of a scratch model (default 'native'). */
  scheme?: InitScheme;
  /** A budget calibrated on the reference architecture for each seed (train.steps is then the cap). */
  calibrate?: ReferenceBudget;
}

/**
 * The calibration rule (DESIGN.md) applied per seed. Where a task's ability emerges abruptly, at a step that
 * moves with the seed, no fixed budget puts the reference in the band: the reference Transformer then trains
 * until its exact-match accuracy on a held-out probe (`probe` test-side episodes at the suite's middle
 * setting, decoded on the inference path) reaches `target`, checked every `every` steps, at most train.steps;
 * every architecture then trains for the steps the reference took at that preset and seed.
 */
export interface ReferenceBudget {
  every: number;
  target: number;
  probe: number;
  /**
   * Recipes tried in turn, each from the start, when the reference reaches train.steps (the cap) without
   * the target: overrides of `train` (e.g. a larger batch: more task data a step). Every architecture then
   * trains under the recipe the reference reached the target with (the last one where none did).
   */
  fallbacks?: Partial<TrainConfig>[];
}

/** AdamW settings task models start from (each preset's recipe overrides lr, warm-up, batch and steps). */
export const TASK_ADAMW = { lr: 1e-3, warmup: 20, minLrFrac: 0.1, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0 };

/**
 * The small preset's task model, one recipe for every architecture and task, `steps` being each task's
 * calibrated budget: 2 layers at T = 64 (the text model has 4 at 128), PyTorch's init scheme and PyTorch's
 * AdamW defaults (beta2 0.999, a constant lr after warm-up), batch 16. The 4-layer model at T = 128 stayed
 * at the shortcut on every retrieval budget we could afford.
 */
export const smallTaskModel = (steps: number): TaskTraining => ({
  init: 'scratch', shape: { layers: 2, seq: 64 }, scheme: 'torch',
  train: { ...TASK_ADAMW, minLrFrac: 1, beta2: 0.999, batch: 16, steps },
});

/** The task model's config: the unit's matched config with the recipe's shape. */
export function taskConfig(ctx: Pick<SuiteContext, 'matched'>, t: TaskTraining): ModelConfig {
  if (t.init === 'text' && (t.shape || t.scheme)) throw new Error('a task model initialised from the text checkpoint keeps its shape and weights (shape and scheme are for scratch models)');
  return { ...ctx.matched.config, ...t.shape };
}

export function taskTrainConfig(ctx: Pick<SuiteContext, 'preset'>, t: TaskTraining): TrainConfig {
  return { ...ctx.preset.train, ...t.train };
}

/** Train (or load) the task model of this unit's architecture, preset and seed. The caller disposes it. */
export function taskModel<S>(ctx: SuiteContext, task: EpisodeTask<S>, settings: S[], t: TaskTraining): Promise<TrainedModel> {
  return streamModel(ctx, `task:${task.name}`, taskStream(task, settings), t);
}

/**
 * Train (or load) a model on any task stream (e.g. a mixture of task streams: harness/data/streams.ts
 * mixture), from scratch or from the text checkpoint. The caller disposes it.
 */
export const streamModel = (ctx: SuiteContext, purpose: string, stream: WindowStream, t: TaskTraining): Promise<TrainedModel> =>
  stoppedModel(ctx, purpose, stream, t, ctx.spec, taskConfig(ctx, t), undefined, () => ctx.textModel());

/**
 * Where a task model starts: its seeded init, or its architecture's text checkpoint (`text`); then the
 * checkpoint's own training recipe is part of the stream's key, so a changed text budget retrains.
 */
async function startOf(ctx: SuiteContext, t: TaskTraining, stream: WindowStream, text: () => Promise<TrainedModel>): Promise<{ init?: LanguageModel; stream: WindowStream }> {
  if (t.init !== 'text') return { stream };
  const init = (await text()).model;
  return { init, stream: { spec: { ...stream.spec, initFrom: { purpose: 'text', train: ctx.preset.train } }, window: (rng, seq) => stream.window(rng, seq) } };
}

/** The probe of a reference-calibrated budget: its episodes and what identifies them (part of the cache key). */
export interface BudgetProbe {
  episodes: Episode[];
  spec: Record<string, unknown>;
}

/** How a unit's task budget was set, for its records: its steps under `training` (a fallback's recipe, or t's). */
export interface Budget {
  steps: number;
  how: string;
  training: TaskTraining;
}

/**
 * Train (or load) the unit's model on `stream` with the budget t.calibrate sets (ReferenceBudget): the
 * reference architecture's model comes first (trained once per preset, seed and recipe, then cached; from
 * the reference's own text checkpoint when the recipe starts from text), and its step count becomes this
 * unit's budget, under the same optimizer and learning-rate schedule (the cap's: a decaying schedule is not
 * rescaled to the shorter run) and the recipe (t's, or the fallback) the reference reached its target with.
 * Without t.calibrate: streamModel, budget train.steps.
 */
export async function budgetedModel(ctx: SuiteContext, purpose: string, stream: WindowStream, t: TaskTraining, probe: BudgetProbe): Promise<{ trained: TrainedModel; budget: Budget }> {
  const c = t.calibrate;
  if (!c) return { trained: await streamModel(ctx, purpose, stream, t), budget: { steps: t.train.steps, how: 'fixed by the preset', training: t } };
  const refSpec = getArchitecture(REFERENCE_ARCH)!;
  const isRef = ctx.spec.name === REFERENCE_ARCH;
  const refMatched = isRef ? ctx.matched : matchedConfig(refSpec, ctx.preset, 'params');
  let refTextModel: Promise<TrainedModel> | undefined; // another architecture's unit loads the reference's text checkpoint once, then frees it
  const refText = () => (isRef ? ctx.textModel() : (refTextModel ??= textModelOf(ctx.cache, { spec: refSpec, config: refMatched.config, seed: ctx.seed, corpus: ctx.corpus, preset: ctx.preset, meter: ctx.meter })));
  const recipes = [t, ...(c.fallbacks ?? []).map((o) => ({ ...t, train: { ...t.train, ...o } }))];
  const tried: string[] = [];
  let ref: TrainedModel | undefined;
  let training = t;
  for (const [i, r] of recipes.entries()) {
    if (ref) disposeModel(ref.model);
    training = r;
    ref = await stoppedModel(ctx, purpose, stream, r, refSpec, taskConfig({ matched: refMatched }, r), probeRule(c, probe, { reference: REFERENCE_ARCH }), refText);
    const recipe = i === 0 ? '' : `fallback ${i} (${Object.entries(c.fallbacks![i - 1]!).map(([k, v]) => `${k} ${v}`).join(', ')}): `;
    tried.push(`${recipe}${ref.info.stop ?? 'no probe record'} (cap ${r.train.steps})`);
    if (ref.info.steps < r.train.steps && ref.info.divergedAt === undefined) break; // the target stopped it before the cap
  }
  const steps = ref!.info.steps;
  const budget = { steps, how: `calibrated on ${REFERENCE_ARCH} seed ${ctx.seed}: ${tried.join('; then ')}`, training };
  if (isRef) return { trained: ref!, budget };
  disposeModel(ref!.model);
  if (refTextModel) disposeModel((await refTextModel).model);
  const at: StopRule = { spec: { reference: REFERENCE_ARCH, steps }, after: (_m, done) => done >= steps, summary: () => `the reference's ${steps} steps` };
  return { trained: await stoppedModel(ctx, purpose, stream, training, ctx.spec, taskConfig(ctx, training), at, () => ctx.textModel()), budget };
}

/**
 * Train (or load) a task model under the recipe's optimizer and schedule (set for train.steps, the cap: a
 * decaying schedule is not rescaled to a shorter run), ended early by `stop` if given; `text` gives the
 * checkpoint a recipe that starts from text starts from.
 */
async function stoppedModel(ctx: SuiteContext, purpose: string, stream: WindowStream, t: TaskTraining, spec: ArchitectureSpec, config: ModelConfig, stop: StopRule | undefined, text: () => Promise<TrainedModel>): Promise<TrainedModel> {
  const from = await startOf(ctx, t, stream, text);
  return trainedModel(ctx.cache, { spec, config, seed: ctx.seed, stream: from.stream, train: taskTrainConfig(ctx, t), purpose, init: from.init, scheme: t.scheme, meter: ctx.meter, ...(stop ? { stop } : {}) });
}

/** Stop once the probe's exact-match accuracy reaches c.target (checked every c.every steps) or at `cap` steps. */
function probeRule(c: ReferenceBudget, probe: BudgetProbe, who: Record<string, unknown>, cap = Infinity): StopRule {
  let seen = 'not checked';
  const { fallbacks: _later, ...rule } = c; // a recipe's model does not depend on the ones tried after it
  return {
    spec: { ...who, ...rule, probe: probe.spec, ...(Number.isFinite(cap) ? { cap } : {}) },
    async after(model, done) {
      if (done >= cap) return true;
      if (done % c.every !== 0) return false;
      const { k, n } = await exactCounts(model, probe.episodes, 64);
      seen = `probe ${k}/${n} = ${(k / n).toFixed(3)} at step ${done}, target ${c.target}`;
      return k / n >= c.target;
    },
    summary: () => seen,
    restore: (summary) => void (seen = summary),
  };
}

/**
 * The unit's model at its own budget: trained until its own probe reaches the reference's target, at most
 * the shared budget's steps, under the same schedule. For comparisons at matched accuracy (an architecture
 * that learns faster than the reference is at the ceiling at the shared budget). Null for the reference
 * (its own budget is the shared one) and when the target is not reached before the shared budget.
 */
export async function ownBudgetModel(ctx: SuiteContext, purpose: string, stream: WindowStream, t: TaskTraining, probe: BudgetProbe, shared: number): Promise<{ trained: TrainedModel; budget: Budget } | null> {
  const c = t.calibrate;
  if (!c || ctx.spec.name === REFERENCE_ARCH) return null;
  const trained = await stoppedModel(ctx, purpose, stream, t, ctx.spec, taskConfig(ctx, t), probeRule(c, probe, { own: ctx.spec.name }, shared), () => ctx.textModel());
  if (trained.info.steps >= shared) {
    disposeModel(trained.model);
    return null;
  }
  return { trained, budget: { steps: trained.info.steps, how: `own budget: ${trained.info.stop ?? 'no probe record'} (the shared budget is ${shared})`, training: t } };
}

/** Records describing how a task model was trained. */
export function taskTrainingRecords(task: string, t: TaskTraining, info: TrainedModel['info']): Measurement[] {
  const dims = { task };
  const shape = t.shape ? `, shape ${Object.entries(t.shape).map(([k, v]) => `${k} ${v}`).join(' ')}` : '';
  const how = `init ${t.init}${t.scheme && t.scheme !== 'native' ? ` (${t.scheme} scheme)` : ''}${shape}, ${info.steps} steps at batch ${t.train.batch}, lr ${t.train.lr ?? 'preset'}, cache ${info.cache}`;
  return [
    { metric: 'task_train_seconds', value: info.seconds, unit: 's', dims, note: how },
    { metric: 'task_train_tokens', value: info.tokens, unit: 'tokens', dims, note: how },
    { metric: 'task_final_answer_loss', value: info.finalLoss / Math.LN2, unit: 'bits', dims, note: `mean loss on the answer tokens of the last training batch; ${how}` },
  ];
}
