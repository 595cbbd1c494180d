// Self-improvement (Crescent): a base model that knows a little D-digit addition (the text checkpoint
// trained on the text mixture plus a small share of addition lines, ./addition.ts) makes its own data
// with no task data (./crescent.ts: bait -> questions -> de-duplication -> majority vote over k samples)
// and is fine-tuned on the voted pairs. Rows, all scored by greedy decoding of the held-out test set:
//   before    the base model;
//   after     the base fine-tuned on its voted pairs (Crescent);
//   control   the same fine-tuning on each voted question's first, unvoted sample;
//   distill   a scratch model with fewer layers trained on the teacher's voted pairs.
// Records: accuracy {stage} (Wilson interval, floor/ceiling flags against chance), questions {stage}
// (generated / valid / test_excluded / kept / voted), vote_accuracy and single_sample_accuracy (the checker
// on the labels), generation_tokens_per_s {phase}, calibration_accuracy (the base against the 20-70% band),
// task_train_* of the base, train_seconds {stage} of the fine-tuned and distilled models. Reports add intervals over seeds.
import type { LanguageModel } from '../../architectures/interface.ts';
import type { WindowStream } from '../../harness/data/streams.ts';
import { sha256 } from '../../harness/hash.ts';
import { corpusStream, disposeModel, trainedModel, type TrainedModel } from '../../harness/models.ts';
import { accuracyFlag, mean, wilson } from '../../harness/stats.ts';
import type { ResultRecord } from '../../harness/store.ts';
import type { FigureSpec, Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { exactCounts } from '../tasks/calibrate.ts';
import { readCalibration, withCalibration } from '../tasks/calibration-history.ts';
import { budgetedModel, streamModel, taskTrainingRecords, type BudgetProbe } from '../tasks/training.ts';
import { baseMixture, check, pairsStream, probeEpisodes, problemKey, testEpisode, testProblems, type Pair, type Problem } from './addition.ts';
import { harvest } from './crescent.ts';
import { SELFIMPROVE_SETTINGS, type SelfImproveSettings } from './settings.ts';

export const STAGES = ['before', 'after', 'control', 'distill'] as const;

/** The base's accuracy must land in this band on the reference Transformer (the calibration rule). */
export const BASE_BAND: readonly [number, number] = [0.2, 0.7];

/** Guessing uniformly among the D+1-digit answers 0 .. 2(10^D - 1). */
export const chanceOf = (digits: number): number => 1 / (2 * 10 ** digits - 1);

/** Exact-match accuracy k/n with its Wilson interval, flagged 'floor' (chance inside) or 'ceiling'. */
export function accuracyOf(metric: string, k: number, n: number, dims: Record<string, string | number>, chance: number): Measurement {
  const flag = accuracyFlag(k, n, chance);
  return { metric, value: n ? k / n : NaN, unit: 'fraction', ci95: wilson(k, n), dims, ...(flag ? { flag } : {}), note: `${k}/${n}; chance ${chance.toExponential(1)}` };
}

/** Held-out accuracy of a model (greedy decoding on the prefill + step path). */
export async function testAccuracy(model: LanguageModel, s: SelfImproveSettings, stage: string): Promise<Measurement> {
  const episodes = testProblems(s.testSize, s.digits).map((p) => testEpisode(p, s.digits));
  const { k, n } = await exactCounts(model, episodes, s.evalBatch);
  return accuracyOf('accuracy', k, n, { stage, digits: s.digits }, chanceOf(s.digits));
}

/** The probe that sets the base's budget on the reference (disjoint from the test set); empty when the preset fixes the budget. */
function budgetProbe(s: SelfImproveSettings): BudgetProbe {
  const count = s.base.calibrate?.probe ?? 0;
  return { episodes: count ? probeEpisodes(count, s.digits, s.testSize) : [], spec: { task: 'addition', digits: s.digits, count, disjointFrom: s.testSize } };
}

/** Fine-tune a copy of the base model on `stream` (cached; the base's own recipe is part of the key). */
function fromBase(ctx: SuiteContext, base: TrainedModel, baseSpec: Record<string, unknown>, purpose: string, stream: WindowStream, s: SelfImproveSettings): Promise<TrainedModel> {
  const keyed: WindowStream = { spec: { ...stream.spec, initFrom: baseSpec }, window: (rng, seq) => stream.window(rng, seq) };
  return trainedModel(ctx.cache, {
    spec: ctx.spec, config: base.model.config, seed: ctx.seed, stream: keyed, train: { ...ctx.preset.train, ...s.finetune }, purpose, init: base.model, meter: ctx.meter,
  });
}

/** Train (or load) a model, score the test set as `stage`, dispose it; with its training time (`analyze time` counts it). */
async function scored(trained: Promise<TrainedModel>, s: SelfImproveSettings, stage: string): Promise<Measurement[]> {
  const m = await trained;
  try {
    const train: Measurement = { metric: 'train_seconds', value: m.info.seconds, unit: 's', dims: { stage, cache: m.info.cache }, note: `${m.info.steps} steps on self-generated pairs` };
    return [await testAccuracy(m.model, s, stage), train];
  } finally {
    disposeModel(m.model);
  }
}

const pairsSpec = (pairs: Pair[], row: string) => ({ row, sha256: sha256(pairs.map((p) => `${problemKey(p)}=${p.answer}`).join(';')) });

/** Labels the checker accepts, as an accuracy record. */
const labelAccuracy = (metric: string, pairs: Pair[], digits: number, note: string): Measurement => {
  const k = pairs.filter((p) => check(p, p.answer, digits)).length;
  return { ...accuracyOf(metric, k, pairs.length, { digits }, chanceOf(digits)), note: `${k}/${pairs.length} ${note}` };
};

/** Before/after bars: accuracy per architecture and stage (mean over seeds, with the seeds' range as a rule). */
function stageBars(records: ResultRecord[]): FigureSpec {
  const cells = new Map<string, { arch: string; stage: string; values: number[] }>();
  for (const r of records.filter((r) => r.metric === 'accuracy' && Number.isFinite(r.value))) {
    const key = `${r.arch}|${r.dims.stage}`;
    const c = cells.get(key) ?? { arch: r.arch, stage: String(r.dims.stage), values: [] };
    c.values.push(r.value);
    cells.set(key, c);
  }
  const values = [...cells.values()].map((c) => ({ arch: c.arch, stage: c.stage, accuracy: mean(c.values), low: Math.min(...c.values), high: Math.max(...c.values) }));
  const x = { field: 'arch', type: 'nominal', title: 'architecture' };
  const xOffset = { field: 'stage', sort: [...STAGES] };
  return {
    name: 'before-after', title: 'Held-out accuracy before and after training on self-generated data (Crescent), the unvoted control and distillation',
    covers: ['accuracy'], caption: 'Bars: mean over seeds; rules: the range over seeds (per-seed Wilson intervals are in the records).',
    vegaLite: {
      data: { values },
      encoding: { x, xOffset },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } }, color: { field: 'stage', type: 'nominal', sort: [...STAGES] } } },
        { mark: 'rule', encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      ],
    },
  };
}

export const selfimprove: Suite = {
  name: 'selfimprove',
  description: 'self-improvement (Crescent) on D-digit addition: bait-prompted questions, hidden-state (or n-gram) de-duplication, majority vote, fine-tuning; control on unvoted samples; distillation',
  settings: withCalibration(SELFIMPROVE_SETTINGS, readCalibration(new URL('./calibration.json', import.meta.url))),
  metrics: {
    accuracy: { direction: 'higher', kind: 'quality', headline: true },
    vote_accuracy: { direction: 'higher', kind: 'quality', headline: false },
    single_sample_accuracy: { direction: 'higher', kind: 'quality', headline: false },
    questions: { direction: 'none', kind: 'count' },
    generation_tokens_per_s: { direction: 'higher', kind: 'throughput' },
    calibration_accuracy: { direction: 'none', kind: 'info' },
    task_train_seconds: { direction: 'lower', kind: 'bookkeeping' },
    train_seconds: { direction: 'lower', kind: 'bookkeeping', headline: false },
    task_train_tokens: { direction: 'none', kind: 'count' },
    task_final_answer_loss: { direction: 'lower', kind: 'info' },
  },
  methods: { axis: 'stage', metric: 'accuracy', pairs: [['after', 'before'], ['after', 'control'], ['distill', 'before']], also: ['questions', 'vote_accuracy', 'single_sample_accuracy'] },
  figures: (records) => [stageBars(records)],
  async run(ctx): Promise<Measurement[]> {
    const s = SELFIMPROVE_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`selfimprove: no settings for preset ${ctx.preset.name}`);
    const stream = baseMixture(corpusStream(ctx.corpus), s.digits, s.taskRate);
    const { trained: base, budget } = await budgetedModel(ctx, 'selfimprove:base', stream, s.base, budgetProbe(s));
    const baseSpec = { purpose: 'selfimprove:base', data: stream.spec, train: budget.training.train, steps: budget.steps, text: ctx.preset.train };
    const out: Measurement[] = [...taskTrainingRecords('selfimprove:base', budget.training, base.info)];
    let crop;
    try {
      const before = await testAccuracy(base.model, s, 'before');
      out.push(before);
      const inBand = before.value >= BASE_BAND[0] && before.value <= BASE_BAND[1];
      out.push({
        metric: 'calibration_accuracy', value: before.value, unit: 'fraction', ci95: before.ci95, dims: { budget_steps: budget.steps, batch: budget.training.train.batch, task_rate: s.taskRate },
        ...(inBand ? {} : { flag: 'not_discriminating' }),
        note: `base ${before.note}: ${inBand ? 'inside' : 'outside'} the ${BASE_BAND.join('-')} band; budget ${budget.steps} steps, ${budget.how}; ${s.budget}; the rule binds the reference Transformer` + (inBand ? '' : '; not discriminating at this preset'),
      });
      const heldOut = new Set(testProblems(s.testSize, s.digits).map((p: Problem) => problemKey(p)));
      crop = await harvest(base.model, s.crescent, s.digits, heldOut, ctx.seed);
      ctx.meter.sample();
      const sim = crop.similarity;
      const how = sim.method === 'hidden' ? `cosine of centred mean-pooled hidden states (D = ${sim.dims}) below ${sim.threshold}` : `character ${sim.n}-gram Jaccard below ${sim.threshold} (no continuousInput: fallback)`;
      for (const [stage, n] of Object.entries(crop.counts)) out.push({ metric: 'questions', value: n, unit: 'count', dims: stage === 'kept' ? { stage, similarity: sim.method } : { stage }, ...(stage === 'kept' ? { note: `de-duplication: ${how}` } : {}) });
      out.push(labelAccuracy('vote_accuracy', crop.voted, s.digits, `majority labels of ${s.crescent.votes} samples the checker accepts`));
      out.push(labelAccuracy('single_sample_accuracy', crop.single, s.digits, 'first-sample labels (the control\'s) the checker accepts'));
      for (const [phase, r] of Object.entries(crop.rate)) {
        if (r.tokens) out.push({ metric: 'generation_tokens_per_s', value: r.tokens / r.seconds, unit: 'tokens/s', dims: { phase }, note: `${r.tokens} tokens sampled on the prefill + step path at temperature ${phase === 'questions' ? s.crescent.temperature : s.crescent.answerTemperature}` });
      }
      if (crop.voted.length === 0) {
        for (const stage of STAGES.slice(1)) out.push({ metric: 'accuracy', value: NaN, unit: 'fraction', dims: { stage, digits: s.digits }, flag: 'not_run', note: 'no question survived the vote: nothing to fine-tune on' });
        return out;
      }
      out.push(...(await scored(fromBase(ctx, base, baseSpec, 'selfimprove:crescent', pairsStream(crop.voted, s.digits, pairsSpec(crop.voted, 'voted')), s), s, 'after')));
      out.push(...(await scored(fromBase(ctx, base, baseSpec, 'selfimprove:control', pairsStream(crop.single, s.digits, pairsSpec(crop.single, 'single')), s), s, 'control')));
    } finally {
      disposeModel(base.model);
    }
    out.push(...(await scored(streamModel(ctx, 'selfimprove:distill', pairsStream(crop.voted, s.digits, pairsSpec(crop.voted, 'voted')), s.distill), s, 'distill')));
    return out;
  },
};

registerSuite(selfimprove);
