// Retrieval: multi-needle in corpus text (Diff Transformer N/R settings, YOCO's N = 1, 2, 4, 8) and
// multi-query associative recall (MQAR). Task models train on each task's stream with the loss on the
// answers only (./tasks), the same budget, batch and optimizer for every architecture; evaluation uses
// held-out values/bindings and test-split haystacks, and decodes greedily with prefill + step.
// Settings per preset: ./settings.ts; the dated calibration history: ./calibration.json.
//
// Records (dims say every axis):
//   needle_accuracy            {needles, queried, length, depth}   heatmap cells (depth x length)
//   needle_accuracy_by_length  {needles, queried, length}          pooled over depths
//   mqar_accuracy              {pairs, length}                     every key queried
//   effective_length           {task, setting ('N4/R2', 'k8')}     longest L >= T with acc >= 0.8 acc(T)
// Each accuracy's note gives k/n, chance and the shortcut; ci95 is the Wilson interval.
//   chance_accuracy / shortcut_accuracy per setting; calibration_cell_accuracy (the middle setting at T);
//   task_train_* (how the task model was trained).
// Accuracy flags: 'floor' (chance inside the 95% interval), 'ceiling' (>= 0.98), 'shortcut' (interval
// does not clear the copy-any-value score).
import type { LanguageModel } from '../../architectures/interface.ts';
import { mixture } from '../../harness/data/streams.ts';
import { disposeModel, type TrainedModel } from '../../harness/models.ts';
import type { Dims } from '../../harness/store.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { calibrationVerdict, evalEpisodes } from '../tasks/calibrate.ts';
import { readCalibration, withCalibration } from '../tasks/calibration-history.ts';
import { taskStream, type EpisodeTask } from '../tasks/episodes.ts';
import { mqarOf, mqarTrainSettings } from '../tasks/mqar.ts';
import { needleTask, type MqarSetting, type NeedleSetting } from '../tasks/retrieval.ts';
import { accuracyRecord, decodeEpisodes, effectiveLength } from '../tasks/score.ts';
import { streamModel, taskModel, taskTrainingRecords, type TaskTraining } from '../tasks/training.ts';
import { RETRIEVAL_SETTINGS, type NeedleGrid, type RetrievalSettings } from './settings.ts';

/** Depths of the grid: d/(depths+1) for d = 1..depths. */
export const gridDepths = (n: number): number[] => Array.from({ length: n }, (_, i) => +((i + 1) / (n + 1)).toFixed(4));

/** Lengths in tokens from multiples of T (at least 1 token), ascending and distinct. */
export const gridLengths = (mults: number[], seq: number): number[] => [...new Set(mults.map((m) => Math.max(1, Math.round(m * seq))))].sort((a, b) => a - b);

interface Tally { k: number; n: number }
const add = (m: Map<string, Tally>, key: string, ok: boolean) => {
  const t = m.get(key) ?? { k: 0, n: 0 };
  t.n++;
  if (ok) t.k++;
  m.set(key, t);
};

/** Effective-length record from per-length tallies. */
function effectiveRecord(task: string, setting: string, extra: Dims, byLength: Map<number, Tally>, seq: number, chance: number, shortcut: number): Measurement {
  const acc = new Map([...byLength].map(([l, t]) => [l, t.n ? t.k / t.n : 0]));
  const eff = effectiveLength(acc, seq);
  const atT = byLength.get(seq);
  const base = atT ? accuracyRecord('x', atT.k, atT.n, {}, chance, shortcut) : undefined;
  const lengths = [...byLength.keys()].filter((l) => l >= seq).sort((a, b) => a - b);
  return {
    metric: 'effective_length', value: eff ?? NaN, unit: 'tokens', dims: { task, setting, ...extra },
    ...(base?.flag ? { flag: base.flag } : eff === undefined ? { flag: 'floor' } : {}),
    note: `${setting}: longest of ${lengths.join('/')} with accuracy >= 0.8 x accuracy at T=${seq} (${atT ? `${atT.k}/${atT.n}` : 'not run'}) at every length up to it` +
      (base?.flag ? `; accuracy at T is flagged ${base.flag}, so this length does not discriminate` : ''),
  };
}

const needleTrainSettings = (g: NeedleGrid): NeedleSetting[] => g.trainNeedles.map((n) => ({ needles: n, queried: n, ...(g.trainExtra ? { extra: g.trainExtra } : {}) }));
async function evalNeedles(ctx: SuiteContext, s: RetrievalSettings, task: EpisodeTask<NeedleSetting>, model: LanguageModel): Promise<Measurement[]> {
  const g = s.needle;
  const seq = model.config.seq; // the task model's T
  const out: Measurement[] = [];
  const depths = gridDepths(g.depths);
  for (const [needles, queried] of g.settings) {
    const isMiddle = needles === g.middle[0] && queried === g.middle[1];
    const lengths = gridLengths([...g.lengths, ...(isMiddle ? g.middleLengths : [])], seq);
    const setting = { needles, queried };
    const chance = task.chance(setting), shortcut = task.shortcut(setting);
    const label = task.label(setting);
    out.push({ metric: 'chance_accuracy', value: chance, unit: 'fraction', dims: { task: 'needle', needles, queried } });
    out.push({ metric: 'shortcut_accuracy', value: shortcut, unit: 'fraction', dims: { task: 'needle', needles, queried }, note: 'copy the value of any needle in the context' });
    const cells = new Map<string, Tally>();
    const byLength = new Map<number, Tally>();
    for (const length of lengths) {
      const eps = [];
      const meta: number[] = [];
      for (const depth of depths) {
        let made: ReturnType<typeof evalEpisodes<NeedleSetting>>;
        try {
          made = evalEpisodes(task, { ...setting, depth }, length, g.trials, ctx.seed, 'grid', depth);
        } catch {
          made = [];
        }
        for (const ep of made) {
          eps.push(ep);
          meta.push(depth);
        }
      }
      if (eps.length === 0) {
        out.push({ metric: 'needle_accuracy_by_length', value: NaN, unit: 'fraction', dims: { needles, queried, length }, flag: 'not_run', note: `${label} does not fit in ${length} tokens` });
        continue;
      }
      const decoded = await decodeEpisodes(model, eps, s.evalBatch);
      ctx.meter.sample();
      const tally: Tally = { k: 0, n: 0 };
      decoded.forEach((d, i) => d.correct.forEach((ok) => {
        add(cells, `${length}|${meta[i]}`, ok);
        tally.n++;
        if (ok) tally.k++;
      }));
      byLength.set(length, tally);
      for (const depth of depths) {
        const c = cells.get(`${length}|${depth}`);
        if (c) out.push(accuracyRecord('needle_accuracy', c.k, c.n, { needles, queried, length, depth }, chance, shortcut));
      }
      out.push(accuracyRecord('needle_accuracy_by_length', tally.k, tally.n, { needles, queried, length }, chance, shortcut));
      if (isMiddle && length === seq) out.push(calibrationRecord('needle', label, tally, shortcut, chance));
    }
    out.push(effectiveRecord('needle', label, {}, byLength, seq, chance, shortcut));
  }
  return out;
}

function calibrationRecord(task: string, setting: string, t: Tally, shortcut: number, chance: number): Measurement {
  const v = calibrationVerdict(t.k, t.n, shortcut);
  return {
    metric: 'calibration_cell_accuracy', value: v.accuracy, unit: 'fraction', ci95: v.ci95, dims: { task, setting },
    note: `${t.k}/${t.n}; middle setting at T: ${v.inBand ? 'inside' : 'outside'} the 20-90% band, ${v.aboveShortcut ? 'above' : 'not above'} the shortcut ${shortcut.toFixed(3)} (chance ${chance.toExponential(1)}); ` +
      'the rule binds the reference Transformer; other architectures fall where they fall',
  };
}

async function evalMqar(ctx: SuiteContext, s: RetrievalSettings, task: EpisodeTask<MqarSetting>, model: LanguageModel): Promise<Measurement[]> {
  const g = s.mqar;
  const seq = model.config.seq; // the task model's T
  const out: Measurement[] = [];
  const lengths = gridLengths(g.lengths, seq);
  for (const pairs of g.pairs) {
    const setting = { pairs };
    const chance = task.chance(setting), shortcut = task.shortcut(setting);
    const label = task.label(setting);
    out.push({ metric: 'chance_accuracy', value: chance, unit: 'fraction', dims: { task: 'mqar', pairs } });
    out.push({ metric: 'shortcut_accuracy', value: shortcut, unit: 'fraction', dims: { task: 'mqar', pairs }, note: 'copy any value in the context' });
    const byLength = new Map<number, Tally>();
    for (const length of lengths) {
      let eps;
      try {
        eps = evalEpisodes(task, setting, length, Math.ceil(g.queries / pairs), ctx.seed, 'grid');
      } catch {
        out.push({ metric: 'mqar_accuracy', value: NaN, unit: 'fraction', dims: { pairs, length }, flag: 'not_run', note: `${label} does not fit in ${length} tokens` });
        continue;
      }
      const tally: Tally = { k: 0, n: 0 };
      for (const d of await decodeEpisodes(model, eps, s.evalBatch)) for (const ok of d.correct) {
        tally.n++;
        if (ok) tally.k++;
      }
      ctx.meter.sample();
      byLength.set(length, tally);
      out.push(accuracyRecord('mqar_accuracy', tally.k, tally.n, { pairs, length }, chance, shortcut));
      if (pairs === g.middle && length === seq) out.push(calibrationRecord('mqar', label, tally, shortcut, chance));
    }
    out.push(effectiveRecord('mqar', label, {}, byLength, seq, chance, shortcut));
  }
  return out;
}

/** Train (or load) a model, evaluate it, dispose it; with the training records first. */
async function withModel(name: string, t: TaskTraining, trained: () => Promise<TrainedModel>, evaluate: (m: LanguageModel) => Promise<Measurement[]>): Promise<Measurement[]> {
  const m = await trained();
  try {
    return [...taskTrainingRecords(name, t, m.info), ...await evaluate(m.model)];
  } finally {
    disposeModel(m.model);
  }
}

export const needle: Suite = {
  name: 'needle',
  alone: 'cores',
  description: 'retrieval: multi-needle in corpus text (N/R grid, depth x length) and MQAR (k pairs x length) on task-trained models, exact match of greedy decoding',
  settings: withCalibration(RETRIEVAL_SETTINGS, readCalibration(new URL('./calibration.json', import.meta.url))),
  metrics: {
    needle_accuracy: { headline: false },
    calibration_cell_accuracy: { direction: 'none', kind: 'info' },
    task_train_seconds: { direction: 'lower', kind: 'bookkeeping' },
    task_train_tokens: { direction: 'none', kind: 'count' },
    task_final_answer_loss: { direction: 'lower', kind: 'info' },
  },
  figures(records, kit) {
    const figs = [];
    const settings = (metric: string, keys: string[]) => [...new Map(records.filter((r) => r.metric === metric && Number.isFinite(r.value))
      .map((r) => [keys.map((k) => r.dims[k]).join('/'), Object.fromEntries(keys.map((k) => [k, r.dims[k]!]))])).values()];
    for (const where of settings('needle_accuracy', ['needles', 'queried'])) {
      figs.push({ ...kit.heatmap(records, 'needle_accuracy', 'length', 'depth', { where, title: `Needle accuracy, N${where.needles}/R${where.queried}: depth x length` }), name: `heatmap-n${where.needles}-r${where.queried}` });
    }
    for (const where of settings('needle_accuracy_by_length', ['needles', 'queried'])) {
      figs.push({ ...kit.lines(records, 'needle_accuracy_by_length', 'length', { where, logLog: false, title: `Needle accuracy against length, N${where.needles}/R${where.queried}` }), name: `length-n${where.needles}-r${where.queried}` });
    }
    for (const task of ['needle', 'mqar']) {
      if (records.some((r) => r.metric === 'effective_length' && r.dims.task === task)) {
        figs.push({ ...kit.lines(records, 'effective_length', 'setting', { where: { task }, logLog: false, title: `Effective length (${task}): longest length with accuracy >= 0.8 x accuracy at T` }), name: `effective-${task}` });
      }
    }
    for (const where of settings('mqar_accuracy', ['pairs'])) {
      figs.push({ ...kit.lines(records, 'mqar_accuracy', 'length', { where, logLog: false, title: `MQAR accuracy against length, ${where.pairs} pairs` }), name: `mqar-length-k${where.pairs}` });
    }
    return figs;
  },
  async run(ctx): Promise<Measurement[]> {
    const s = RETRIEVAL_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`needle: no settings for preset ${ctx.preset.name}`);
    const needles = needleTask(ctx.corpus, { format: s.format });
    const mqar = mqarOf(ctx.corpus, s.mqar);
    if (s.shared) {
      // one retrieval model on both training streams, interleaved 1:1
      const stream = mixture([{ stream: taskStream(needles, needleTrainSettings(s.needle)), rate: 1 }, { stream: taskStream(mqar, mqarTrainSettings(s.mqar)), rate: 1 }]);
      return withModel('retrieval', s.shared, () => streamModel(ctx, 'task:retrieval', stream, s.shared!),
        async (m) => [...await evalNeedles(ctx, s, needles, m), ...await evalMqar(ctx, s, mqar, m)]);
    }
    const needleTraining = s.needle.training, mqarTraining = s.mqar.training;
    if (!needleTraining || !mqarTraining) throw new Error(`needle: preset ${ctx.preset.name} sets neither a shared model nor one per task`);
    return [
      ...await withModel('needle', needleTraining, () => taskModel(ctx, needles, needleTrainSettings(s.needle), needleTraining), (m) => evalNeedles(ctx, s, needles, m)),
      ...await withModel('mqar', mqarTraining, () => taskModel(ctx, mqar, mqarTrainSettings(s.mqar), mqarTraining), (m) => evalMqar(ctx, s, mqar, m)),
    ];
  },
};

registerSuite(needle);
