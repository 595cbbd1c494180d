// Retrieval: multi-needle in corpus text (Diff Transformer N/R settings, YOCO's N = 1, 2, 4, 8) and
// multi-query associative recall (MQAR). Task models train on each task's stream with the loss on the
// answers only (./tasks), the same budget, batch and optimizer for every architecture; evaluation uses
// held-out values/bindings and test-split haystacks, and decodes greedily with prefill + step.
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
import type { Corpus } from '../../harness/data/corpus.ts';
import { mixture, type WindowStream } from '../../harness/data/streams.ts';
import { disposeModel, type TrainedModel } from '../../harness/models.ts';
import type { Dims } from '../../harness/store.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { calibrationVerdict, evalEpisodes } from '../tasks/calibrate.ts';
import { taskStream, type EpisodeTask } from '../tasks/episodes.ts';
import { mqarTask, needleTask, type MqarSetting, type NeedleFormat, type NeedleSetting } from '../tasks/retrieval.ts';
import { accuracyRecord, decodeEpisodes, effectiveLength } from '../tasks/score.ts';
import { TASK_ADAMW, smallTaskModel, streamModel, taskModel, taskTrainingRecords, type TaskTraining } from '../tasks/training.ts';

export interface NeedleGrid {
  /** [needles, queried] settings evaluated. */
  settings: [number, number][];
  /** The calibration setting (the suite's middle setting). */
  middle: [number, number];
  /** Lengths for every setting, as multiples of T. */
  lengths: number[];
  /** Extra lengths (multiples of T) for the middle setting only: its full depth x length heatmap. */
  middleLengths: number[];
  /** Depths d/(depths+1), d = 1..depths (10 gives the d/11 protocol). */
  depths: number;
  /** Seeded episodes per (setting, length, depth) cell. */
  trials: number;
  /** Needle counts in training episodes (every needle queried). */
  trainNeedles: number[];
  /** Training densification: up to this many repeated queries after the regular ones (0: none). */
  trainExtra: number;
  /** This task's own model (left out when the settings train one `shared` model). */
  training?: TaskTraining;
}

export interface MqarGrid {
  pairs: number[];
  middle: number;
  /** Multiples of T. */
  lengths: number[];
  /** Queries per (pairs, length) cell, at least: ceil(queries / k) episodes, each querying every key. */
  queries: number;
  keySymbols: number;
  valueSymbols: number;
  filler: 'pad' | 'text';
  trainPairs: number[];
  /** Training densification: up to this many repeated queries after the k regular ones (0: none). */
  trainExtra: number;
  /** With trainExtra: always as many repeated queries as fit (no filler left in training windows). */
  trainFill?: boolean;
  /** This task's own model (left out when the settings train one `shared` model). */
  training?: TaskTraining;
}

export interface CalibrationFigure {
  task: string;
  setting: string;
  length: string;
  steps: number;
  batch: number;
  init: string;
  /** The reference Transformer's accuracy that fixed the budget, with its Wilson interval and n. */
  accuracy: number | null;
  ci95: [number, number] | null;
  n: number | null;
  shortcut: number;
  chance: number;
  measured: string;
}

export interface RetrievalSettings {
  format: NeedleFormat;
  needle: NeedleGrid;
  mqar: MqarGrid;
  /** Episodes decoded together. */
  evalBatch: number;
  /** When set, one model trains on both tasks' streams (1:1) with this recipe, instead of one model per task (then the grids' own `training` is left out). */
  shared?: TaskTraining;
  calibration: CalibrationFigure[];
}

export const RETRIEVAL_SETTINGS: Record<string, RetrievalSettings> = {
  tiny: {
    format: 'compact',
    needle: {
      settings: [[1, 1], [2, 2], [2, 1]], middle: [2, 1], lengths: [1, 2], middleLengths: [], depths: 2, trials: 1,
      trainNeedles: [1, 2], trainExtra: 2, training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 6 } },
    },
    mqar: {
      pairs: [2, 4], middle: 2, lengths: [1, 2], queries: 8, keySymbols: 16, valueSymbols: 16, filler: 'pad',
      trainPairs: [2, 4], trainExtra: 8, training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 6 } },
    },
    evalBatch: 8,
    calibration: [],
  },
  small: {
    format: 'compact',
    needle: {
      settings: [[1, 1], [2, 2], [4, 2], [6, 2], [2, 1], [4, 1], [8, 1]], middle: [4, 2], lengths: [1, 8], middleLengths: [0.5, 2, 4],
      depths: 10, trials: 1, trainNeedles: [1, 2, 4], trainExtra: 8,
      // 1,500 steps: at 2,000 the reference passes the band's top (117/128 on the probe)
      training: smallTaskModel(1500),
    },
    mqar: {
      pairs: [2, 4, 8, 16], middle: 4, lengths: [1, 2, 4, 8], queries: 256, keySymbols: 16, valueSymbols: 16, filler: 'pad',
      trainPairs: [4], trainExtra: 28, trainFill: true, training: smallTaskModel(2000),
    },
    evalBatch: 16,
    // Measured (Transformer, seed 0, 2 cores, wasm), newest first. The recipe (smallTaskModel) meets the
    // rule for MQAR (k4 at T = 64: 186/256 in the suite, 154/256 on the calibration probe), and for needles
    // once the compact query is MARK key (not MARK key '='): N4/R2 at T = 64 14/20 in the suite, 110/128 at
    // 1,500 steps on the probe.
    calibration: [
      { task: 'needle', setting: 'N4/R2, query MARK key (this preset, as `run needle --preset small` trains it)', length: 'T=64', steps: 1500, batch: 16, init: 'scratch (torch scheme)', accuracy: 14 / 20, ci95: [0.481, 0.855], n: 20, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-27, seed 0, 2 data-parallel workers, the suite\'s own evaluation set (10 depths x 1 trial x 2 queries; runs/s4-needle)' },
      { task: 'needle', setting: 'N4/R2, query MARK key (this preset)', length: 'T=64', steps: 1500, batch: 16, init: 'scratch (torch scheme)', accuracy: 110 / 128, ci95: [0.789, 0.909], n: 128, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-26, calibration probe (calibrate-cli.ts, one worker), smallTaskModel: 8/128 at step 500, 57/128 at 1,000, 117/128 at 2,000 (0.914: above the band, hence 1,500 steps)' },
      { task: 'needle', setting: 'N4/R2, query MARK key \'=\'', length: 'T=64', steps: 5000, batch: 16, init: 'scratch (torch scheme)', accuracy: 28 / 128, ci95: [0.156, 0.298], n: 128, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-26, smallTaskModel run on to 5,000 steps: 26-36/128 at every 500 steps; training loss 0.15-0.24 nats per answer token, the copy-any-needle level (ln N on the first digit over N = 1, 2, 4: 0.23)' },
      { task: 'mqar', setting: 'k4, 16 keys / 16 values (this preset, as `run needle --preset small` trains it)', length: 'T=64', steps: 2000, batch: 16, init: 'scratch (torch scheme)', accuracy: 186 / 256, ci95: [0.669, 0.778], n: 256, shortcut: 1 / 4, chance: 1 / 16, measured: '2026-11-26, seed 0, 2 data-parallel workers, the suite\'s own evaluation set (runs/small-cal2)' },
      { task: 'needle', setting: 'N4/R2, query MARK key \'=\' (as run)', length: 'T=64', steps: 2000, batch: 16, init: 'scratch (torch scheme)', accuracy: 5 / 20, ci95: [0.112, 0.469], n: 20, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-26, seed 0: at the shortcut' },
      { task: 'mqar', setting: 'k4, 16 keys / 16 values (this preset)', length: 'T=64', steps: 2000, batch: 16, init: 'scratch (torch scheme)', accuracy: 154 / 256, ci95: [0.541, 0.660], n: 256, shortcut: 1 / 4, chance: 1 / 16, measured: '2026-11-26, smallTaskModel: 2 layers, PyTorch init and AdamW defaults; 63/256 at step 1,400, 108/256 at 1,600 (the transition), 138/256 at 1,800' },
      { task: 'needle', setting: 'N4/R2, query MARK key \'=\'', length: 'T=64', steps: 1600, batch: 16, init: 'scratch (torch scheme)', accuracy: 32 / 128, ci95: [0.183, 0.332], n: 128, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-26, smallTaskModel, needles 1/2/4 in training: 29/128 at step 800, 35/128 at 1,400; training loss 0.27 nats, about the copy-any-needle level (0.23). With 16 key bytes instead of 128: 31/128 at step 1,200' },
      { task: 'needle', setting: 'N4/R2', length: 'T=128', steps: 2000, batch: 16, init: 'scratch (torch scheme)', accuracy: 36 / 128, ci95: [0.211, 0.365], n: 128, shortcut: 1 / 4, chance: 1 / 1000, measured: '2026-11-26, 2 layers at T = 128, needles 1-8 in training' },
      { task: 'mqar', setting: 'k4, 16/16, pairs 2-16 in training', length: 'T=128', steps: 1250, batch: 16, init: 'scratch (torch scheme)', accuracy: 59 / 256, ci95: [0.183, 0.286], n: 256, shortcut: 1 / 4, chance: 1 / 16, measured: '2026-11-26, 2 layers at T = 128: at the shortcut at every point to 1,250 steps (stopped)' },
      { task: 'retrieval (shared)', setting: 'mqar k8 / needle N4/R2', length: 'T=128', steps: 1200, batch: 16, init: 'scratch', accuracy: 27 / 256, ci95: [0.074, 0.149], n: 256, shortcut: 1 / 8, chance: 1 / 64, measured: '2026-11-26, the text model\'s shape (4 layers) and this suite\'s earlier optimizer: mqar k8 27/256; needle 4/2 0/64 (shortcut 0.25)' },
      { task: 'retrieval (shared)', setting: 'mqar k8 / needle N4/R2', length: 'T=128', steps: 600, batch: 16, init: 'text', accuracy: 10 / 256, ci95: [0.021, 0.070], n: 256, shortcut: 1 / 8, chance: 1 / 64, measured: '2026-11-26, from the 1,000-step text checkpoint: slower than scratch; needle 0/64' },
      { task: 'mqar', setting: 'k4, 16 keys / 16 values, 4 layers', length: 'T=64', steps: 800, batch: 16, init: 'scratch', accuracy: 65 / 256, ci95: [0.204, 0.311], n: 256, shortcut: 1 / 4, chance: 1 / 16, measured: '2026-11-26, 4 layers: at the shortcut at 600-800 steps whatever else changed (dense queries, lr 3e-3, embedding N(0, 1), AdamW beta2 0.999 with a constant lr, PyTorch init)' },
    ],
  },
  paper: {
    format: 'natural',
    needle: {
      settings: [[1, 1], [2, 2], [4, 2], [6, 2], [2, 1], [4, 1], [8, 1]], middle: [4, 2], lengths: [0.5, 1, 2, 4, 8], middleLengths: [],
      depths: 10, trials: 5, trainNeedles: [1, 2, 4, 6, 8], trainExtra: 8, training: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 100, batch: 16, steps: 2000 } },
    },
    mqar: {
      pairs: [4, 8, 16, 32], middle: 8, lengths: [1, 2, 4, 8], queries: 256, keySymbols: 64, valueSymbols: 64, filler: 'pad',
      trainPairs: [4, 8, 16, 32], trainExtra: 64, training: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 100, batch: 16, steps: 2000 } },
    },
    evalBatch: 4,
    calibration: [],
  },
};

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
const mqarOf = (corpus: Corpus, g: MqarGrid) => mqarTask(corpus, { keySymbols: g.keySymbols, valueSymbols: g.valueSymbols, filler: g.filler });

/** This suite's MQAR training stream at a preset (the icl suite mixes it into its own). */
export function mqarTrainingStream(corpus: Corpus, preset: string): WindowStream {
  const s = RETRIEVAL_SETTINGS[preset];
  if (!s) throw new Error(`needle: no settings for preset ${preset}`);
  return taskStream(mqarOf(corpus, s.mqar), mqarTrainSettings(s.mqar));
}

const mqarTrainSettings = (g: MqarGrid): MqarSetting[] => g.trainPairs.map((pairs) => ({ pairs, ...(g.trainExtra ? { extra: g.trainExtra, ...(g.trainFill ? { fill: true } : {}) } : {}) }));

function evalNeedles(ctx: SuiteContext, s: RetrievalSettings, task: EpisodeTask<NeedleSetting>, model: LanguageModel): Measurement[] {
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
      const decoded = decodeEpisodes(model, eps, s.evalBatch);
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

function evalMqar(ctx: SuiteContext, s: RetrievalSettings, task: EpisodeTask<MqarSetting>, model: LanguageModel): Measurement[] {
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
      for (const d of decodeEpisodes(model, eps, s.evalBatch)) for (const ok of d.correct) {
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
function withModel(name: string, t: TaskTraining, trained: () => TrainedModel, evaluate: (m: LanguageModel) => Measurement[]): Measurement[] {
  const m = trained();
  try {
    return [...taskTrainingRecords(name, t, m.info), ...evaluate(m.model)];
  } finally {
    disposeModel(m.model);
  }
}

export const needle: Suite = {
  name: 'needle',
  description: 'retrieval: multi-needle in corpus text (N/R grid, depth x length) and MQAR (k pairs x length) on task-trained models, exact match of greedy decoding',
  settings: RETRIEVAL_SETTINGS as unknown as Record<string, Record<string, unknown>>,
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
  run(ctx): Measurement[] {
    const s = RETRIEVAL_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`needle: no settings for preset ${ctx.preset.name}`);
    const needles = needleTask(ctx.corpus, { format: s.format });
    const mqar = mqarOf(ctx.corpus, s.mqar);
    if (s.shared) {
      // one retrieval model on both training streams, interleaved 1:1
      const stream = mixture([{ stream: taskStream(needles, needleTrainSettings(s.needle)), rate: 1 }, { stream: taskStream(mqar, mqarTrainSettings(s.mqar)), rate: 1 }]);
      return withModel('retrieval', s.shared, () => streamModel(ctx, 'task:retrieval', stream, s.shared!),
        (m) => [...evalNeedles(ctx, s, needles, m), ...evalMqar(ctx, s, mqar, m)]);
    }
    const needleTraining = s.needle.training, mqarTraining = s.mqar.training;
    if (!needleTraining || !mqarTraining) throw new Error(`needle: preset ${ctx.preset.name} sets neither a shared model nor one per task`);
    return [
      ...withModel('needle', needleTraining, () => taskModel(ctx, needles, needleTrainSettings(s.needle), needleTraining), (m) => evalNeedles(ctx, s, needles, m)),
      ...withModel('mqar', mqarTraining, () => taskModel(ctx, mqar, mqarTrainSettings(s.mqar), mqarTraining), (m) => evalMqar(ctx, s, mqar, m)),
    ];
  },
};

registerSuite(needle);
