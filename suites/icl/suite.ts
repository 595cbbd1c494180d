// In-context learning on task-trained models (./icl-episodes.ts): order robustness (Differential
// Transformer), structured prompting against conventional ICL (Structured Prompting), and per-architecture
// ICL accuracy for the momentum-attention comparison (Dai et al.), which the claims ledger reads from the
// records beside the perplexity suite's bpb (the suite never names an architecture).
//
// The task model of each (architecture, preset, seed) trains on the ICL stream (with the preset's MQAR
// stream interleaved, where it says so) with the loss on the answers only, with the same budget, batch and
// optimizer for every architecture (settings below; ./tasks/training.ts), from scratch or from the text
// checkpoint as the preset says. The budget is fixed by the preset, or calibrated per seed on the reference
// (ReferenceBudget) and then the same for every architecture of that seed.
//
// Records (dims name every axis; accuracies give k/n scored queries in the note and a Wilson interval):
//   icl_accuracy          {experiment: 'order', demos, arrangement, set, permutation}     one cell
//                         {experiment: 'scaling', mode, demos, set, permutation}
//                         (no derived axes, so structured and conventional records pair by demos)
//   icl_accuracy_pooled   {experiment: 'order', demos, arrangement} / {experiment: 'scaling', mode, demos}
//                         pooled over sets x permutations (figures: accuracy against demonstrations)
//   permutation_mean / permutation_std / permutation_worst / permutation_best / permutation_gap
//                         {demos, arrangement}: for each demonstration set, accuracy across its permutations
//                         (mean, sample std, min, max, max - min), averaged over the sets (order robustness)
//   accuracy_std          {experiment: 'scaling', mode, demos}: sample std of cell accuracy across sets x permutations
//   structured_groups     {demos}: M, the groups structured prompting used; conventional_seen {demos}: the
//                         demonstrations left after truncation to the context (largest over queries)
//   chance_accuracy, shortcut_accuracy (the best of three shortcuts measured on the scored items; the note gives all)
//   calibration_cell_accuracy   the middle setting (order, middle demos, random arrangement) against the rule
//   structured_prompting  1 (capability present) or 0 with flag 'absent'
//   text_bpb              the text checkpoint's test bpb, when the task model starts from it
//   task_train_* (how the task model was trained), task_budget_steps (its step budget and how it was set), icl_eval_seconds
//   order records with dims.budget 'own': the order experiment at the architecture's own budget (settings: ownBudgetAbove)
// Accuracy flags (./tasks/score.ts): 'floor' (chance inside the 95% interval), 'ceiling' (>= 0.98),
// 'shortcut' (the interval does not clear the shortcut score).
import { evalWindows, mixture } from '../../harness/data/streams.ts';
import { disposeModel, type TrainedModel } from '../../harness/models.ts';
import { log } from '../../harness/progress.ts';
import { mean, std } from '../../harness/stats.ts';
import type { Dims } from '../../harness/store.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import type { LanguageModel } from '../../architectures/interface.ts';
import {
  evalDemoSets, iclTask, permutation, summariseShortcuts, type Arrangement, type IclFormat, type IclTask, type Pair,
} from './episodes.ts';
import { scoreConventionalMany, scoreStructured, type ScoredItem } from './score.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { mqarTrainingStream } from '../needle/suite.ts';
import { calibrationVerdict, sideEpisodes } from '../tasks/calibrate.ts';
import { taskStream } from '../tasks/episodes.ts';
import { accuracyRecord } from '../tasks/score.ts';
import {
  TASK_ADAMW, budgetedModel, ownBudgetModel, smallTaskModel, taskConfig, taskTrainingRecords, type Budget, type BudgetProbe, type TaskTraining,
} from '../tasks/training.ts';

export interface IclCalibration {
  /** What was measured, on which architecture, seed and machine, and when. */
  measured: string;
  steps: number;
  batch: number;
  init: string;
  /** The reference Transformer's accuracy at the middle setting, with its Wilson interval and n. */
  accuracy: number | null;
  ci95: [number, number] | null;
  n: number | null;
  shortcut: number;
  chance: number;
  /** Other points of the learning curve or alternatives tried (scratch against text), as measured. */
  curve?: string;
}

export interface IclSettings {
  format: IclFormat;
  task: Omit<IclTask, 'format'>;
  training: TaskTraining;
  /**
   * Training episodes: demonstrations per episode (i.i.d. over the mapping's inputs, right-padded to the
   * window; 0 fills the window), one drawn uniformly per window.
   */
  trainDemos: number[];
  /**
   * Interleave the ICL stream 1:1 with the retrieval suite's MQAR training stream of the same preset (the
   * same in-context lookup with distinct values; measured at small: ICL then emerges at 1,200-1,450 steps
   * instead of about 3,000).
   */
  withMqar?: boolean;
  /** Demonstrations at the middle setting (the calibration cell: order experiment, random arrangement). */
  middle: number;
  order: {
    demos: number[]; sets: number; permutations: number; arrangements: Arrangement[];
    /**
     * With a calibrated budget: an architecture whose middle cell at the shared budget is above this accuracy
     * also runs the order experiment at its own budget (the step where its own probe reaches the target),
     * recorded with dims.budget 'own', so order robustness compares at matched accuracy.
     */
    ownBudgetAbove?: number;
  };
  scaling: { demos: number[]; sets: number; permutations: number };
  /** Queries decoded together. */
  evalBatch: number;
  calibration: IclCalibration[];
}

export const ICL_SETTINGS: Record<string, IclSettings> = {
  tiny: {
    format: 'compact',
    task: { inputs: 4, labels: 2, inputPool: 8, labelPool: 8 },
    training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 8 } },
    trainDemos: [0],
    middle: 4,
    order: { demos: [2, 4, 8], sets: 2, permutations: 3, arrangements: ['random', 'clustered'] },
    scaling: { demos: [4, 16, 64], sets: 2, permutations: 2 },
    evalBatch: 16,
    calibration: [],
  },
  small: {
    format: 'compact',
    task: { inputs: 8, labels: 4, inputPool: 16, labelPool: 16 },
    // the retrieval suite's small task model (2 layers at T = 64), every window filled with demonstrations,
    // interleaved with MQAR windows; the budget is calibrated per seed on the reference (ReferenceBudget:
    // ICL emerges within about 50 steps, at a step that moves by 250 with the seed, so no fixed budget
    // keeps the reference in the band); order experiments up to 28 demonstrations, which fit T = 64
    training: { ...smallTaskModel(3000), calibrate: { every: 10, target: 0.55, probe: 128 } },
    withMqar: true,
    trainDemos: [0],
    middle: 16,
    order: { demos: [4, 16, 28], sets: 8, permutations: 8, arrangements: ['random', 'clustered'], ownBudgetAbove: 0.9 },
    scaling: { demos: [4, 16, 64, 256, 1000], sets: 8, permutations: 4 },
    evalBatch: 64,
    // Measured (Transformer, 2 cores, wasm), newest first. With the retrieval suite's task model and full
    // windows of demonstrations, ICL emerges abruptly after a long plateau at chance (= the shortcut): about
    // 3,000 steps alone, 1,200-1,450 with MQAR interleaved, within about 50 steps each time, at a step that
    // moves by 250 with the seed. A fixed budget on that edge read 0.92 for seed 0 and 1.00 for seed 1
    // (3,100 steps), hence the per-seed budget calibrated on the reference.
    calibration: [
      { measured: '2026-11-27, transformer seeds 0-2, this preset (`run icl --preset small --seeds 3`, 2 data-parallel workers; runs/s5-icl): the middle cell, seed 0', steps: 1350, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 396 / 512, ci95: [0.735, 0.808], n: 512, shortcut: 0.25, chance: 0.25, curve: 'budgets calibrated on the reference: seed 0 1,350 steps (probe 77/128), 396/512 = 0.773; seed 1 1,430 (probe 71/128), 275/512 = 0.537 (0.494-0.580); seed 2 1,230 (probe 81/128), 324/512 = 0.633 (0.590-0.673): inside the band on every seed' },
      { measured: '2026-11-27, transformer seed 0, this preset (`run icl --preset small --arch transformer`, 2 data-parallel workers; the suite\'s middle cell: order, 16 demonstrations, random arrangement, 8 sets x 8 permutations)', steps: 1350, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 396 / 512, ci95: [0.735, 0.808], n: 512, shortcut: 0.25, chance: 0.25, curve: 'budget calibrated on the reference: stopped at step 1,350, probe 77/128 = 0.602 (target 0.55)' },
      { measured: '2026-11-27, calibration probe (calibrate-cli.ts mix=mqar, one worker), ICL 1:1 with the small MQAR stream, seeds 0, 1, 2', steps: 1500, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 120 / 128, ci95: [0.882, 0.968], n: 128, shortcut: 0.25, chance: 0.25, curve: 'seed 0: 26/128 at 1,250, 120/128 at 1,500 (probes every 250); seed 1: 35/128 at 1,400, 109/128 at 1,450, 123/128 at 1,500; seed 2: 43/128 at 1,200, 102/128 at 1,250, 119/128 at 1,300 (probes every 50); 120-128/128 from then on' },
      { measured: '2026-11-27, transformer seed 0, the earlier fixed budget (3,100 steps, ICL stream alone) as `run icl --preset small` trained it (runs/s4-icl): 0.02 over the band', steps: 3100, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 473 / 512, ci95: [0.898, 0.944], n: 512, shortcut: 0.25, chance: 0.25, curve: 'seed 1 (`--seeds 2`): 512/512 = 1.00 (0.993-1.00), ceiling: the edge moves with the seed' },
      { measured: '2026-11-26, calibration probe (calibrate-cli.ts, one worker), smallTaskModel, trainDemos [0] (full windows), 8 inputs -> 4 labels over pools of 16, 16 demonstrations', steps: 3100, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 101 / 128, ci95: [0.710, 0.851], n: 128, shortcut: 0.25, chance: 0.25, curve: '20-37/128 every 100 steps to 3,000 (34/128), 101/128 at 3,100, 123/128 at 3,200, 121/128 at 3,300; a second run to 6,000 steps: 128/128 at 3,500-4,500, 126/128 at 5,000' },
      { measured: '2026-11-26, the same with 16 inputs -> 4 labels over pools of 32 and 16', steps: 5000, batch: 16, init: 'scratch (torch scheme)',
        accuracy: 26 / 128, ci95: [0.143, 0.281], n: 128, shortcut: 0.25, chance: 0.25, curve: '26-37/128 every 500 steps to 5,000; training loss 1.34-1.44 nats (ln 4 = 1.39)' },
      { measured: '2026-11-26, transformer seed 0, smallTaskModel (2 layers at T = 64, PyTorch init and AdamW defaults, batch 16, lr 1e-3)', steps: 2000, batch: 16, init: 'scratch',
        accuracy: 40 / 128, ci95: [0.239, 0.397], n: 128, shortcut: 0.25, chance: 0.25, curve: '28/128 at step 200, 38/128 at 600, 36/128 at 1,000, 25/128 at 1,600; training loss 1.35 nats at 2,000 (ln 4 = 1.39)' },
      { measured: '2026-11-26, the same with every training window filled with demonstrations (trainDemos [0]: as many answer positions per step as MQAR\'s dense queries)', steps: 2400, batch: 16, init: 'scratch',
        accuracy: 25 / 128, ci95: [0.136, 0.272], n: 128, shortcut: 0.25, chance: 0.25, curve: '41/128 at step 2,000, 23-39/128 elsewhere; training loss 1.38-1.44 nats throughout' },
      { measured: '2026-11-26, the same with 4 inputs -> 4 labels (the MQAR k4 task in ICL form)', steps: 2400, batch: 16, init: 'scratch',
        accuracy: 24 / 128, ci95: [0.129, 0.264], n: 128, shortcut: 0.25, chance: 0.25, curve: 'between 16/128 and 38/128 from step 200 to 2,400; training loss 1.27-1.41 nats throughout' },
      { measured: '2026-11-26, transformer seed 0, the earlier preset (500 steps, lr 2e-3, demos 4-32 per episode; `run icl --preset small --seeds 2`)', steps: 500, batch: 8, init: 'scratch',
        accuracy: 137 / 512, ci95: [0.231, 0.308], n: 512, shortcut: 0.25, chance: 0.25, curve: 'seed 1: 120/512 = 0.234 (0.200-0.273)' },
      { measured: '2026-11-26, transformer seed 0, full windows of demonstrations, lr 3e-3', steps: 900, batch: 8, init: 'scratch',
        accuracy: 48 / 192, ci95: [0.194, 0.316], n: 192, shortcut: 0.25, chance: 0.25, curve: '0.25 at steps 600, 700, 900; 0.255 at 800' },
      { measured: '2026-11-26, transformer seed 0, from the 1,000-step text checkpoint', steps: 450, batch: 8, init: 'text',
        accuracy: 46 / 192, ci95: [0.185, 0.305], n: 192, shortcut: 0.25, chance: 0.25, curve: 'no faster than scratch' },
      { measured: '2026-11-26, d64 L2 T64 proxy, 4 inputs -> 4 labels (pool 4), lr 3e-3', steps: 1400, batch: 8, init: 'scratch',
        accuracy: 24 / 96, ci95: [0.174, 0.345], n: 96, shortcut: 0.25, chance: 0.25, curve: 'between 0.22 and 0.28 from step 800 to 1400' },
    ],
  },
  paper: {
    format: 'natural',
    task: { inputs: 16, labels: 4 },
    training: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 100, batch: 16, steps: 2000 } },
    trainDemos: [0],
    middle: 32,
    order: { demos: [8, 32, 128], sets: 16, permutations: 10, arrangements: ['random', 'clustered'] },
    scaling: { demos: [4, 16, 64, 256, 1000], sets: 16, permutations: 5 },
    evalBatch: 16,
    calibration: [],
  },
};

interface Tally { k: number; n: number }
const tally = (items: ScoredItem[]): Tally => ({ k: items.filter((i) => i.correct).length, n: items.length });

function shortcutRecords(experiment: string, dims: Dims, items: ScoredItem[], labels: number): { records: Measurement[]; chance: number; shortcut: number } {
  const s = summariseShortcuts(items.map((i) => ({ demos: i.seen, query: i.query })), labels);
  const shortcut = Math.max(s.best, 1 / labels);
  return {
    chance: s.chance, shortcut,
    records: [
      { metric: 'chance_accuracy', value: s.chance, unit: 'fraction', dims: { experiment, ...dims } },
      {
        metric: 'shortcut_accuracy', value: shortcut, unit: 'fraction', dims: { experiment, ...dims, shortcut: s.bestName },
        note: `on the scored items: most-frequent label ${s.mostFrequent.toFixed(3)}, copy last label ${s.copyLast.toFixed(3)}, ` +
          `copy any label present ${s.copyAny.toFixed(3)} (expected); chance 1/${labels}`,
      },
    ],
  };
}

/** Shortcut score of one cell's items (at least chance). */
const cellShortcut = (items: ScoredItem[], labels: number): number =>
  Math.max(1 / labels, summariseShortcuts(items.map((i) => ({ demos: i.seen, query: i.query })), labels).best);

/** Order robustness: K sets x P permutations, per number of demonstrations and arrangement (`extra` dims on every record). */
export function evalOrder(model: LanguageModel, s: IclSettings, task: IclTask, seed: number, onCell?: () => void, extra: Dims = {}): Measurement[] {
  const out: Measurement[] = [];
  const o = { format: s.format, context: model.config.seq, batch: s.evalBatch };
  for (const n of s.order.demos) {
    const sets = evalDemoSets(task, n, s.order.sets, seed, 'order');
    for (const arrangement of s.order.arrangements) {
      const perSet: number[][] = [];
      const all: ScoredItem[] = [];
      // every permutation of every set at once: equal-length prompts share decoding batches
      const lists = sets.flatMap((set, si) => Array.from({ length: s.order.permutations }, (_, p) => permutation(set, arrangement, seed, 'order', n, si, p)));
      const scored = scoreConventionalMany(model, lists, o);
      sets.forEach((_set, si) => {
        const accs: number[] = [];
        for (let p = 0; p < s.order.permutations; p++) {
          const items = scored[si * s.order.permutations + p]!;
          onCell?.();
          const t = tally(items);
          all.push(...items);
          accs.push(t.k / t.n);
          out.push(accuracyRecord('icl_accuracy', t.k, t.n, { experiment: 'order', demos: n, arrangement, set: si, permutation: p, ...extra },
            1 / task.labels, cellShortcut(items, task.labels)));
        }
        perSet.push(accs);
      });
      const dims = { demos: n, arrangement, ...extra };
      const sc = shortcutRecords('order', dims, all, task.labels);
      out.push(...sc.records);
      const t = tally(all);
      const pooled = accuracyRecord('icl_accuracy_pooled', t.k, t.n, { experiment: 'order', ...dims }, sc.chance, sc.shortcut);
      out.push(pooled);
      // a spread measured where accuracy cannot discriminate carries the pooled accuracy's flag
      const stat = (metric: string, f: (a: number[]) => number, what: string): Measurement =>
        ({ metric, value: mean(perSet.map(f)), unit: 'fraction', dims, ...(pooled.flag ? { flag: pooled.flag } : {}),
           note: `${what} across the ${s.order.permutations} permutations of each of ${sets.length} demonstration sets, averaged over the sets` +
             (pooled.flag ? `; pooled accuracy flagged ${pooled.flag}: not discriminating` : '') });
      out.push(
        stat('permutation_mean', mean, 'mean accuracy'),
        stat('permutation_std', std, 'sample standard deviation of accuracy'),
        stat('permutation_worst', (a) => Math.min(...a), 'worst accuracy'),
        stat('permutation_best', (a) => Math.max(...a), 'best accuracy'),
        stat('permutation_gap', (a) => Math.max(...a) - Math.min(...a), 'best minus worst accuracy'),
      );
      if (n === s.middle && arrangement === 'random' && Object.keys(extra).length === 0) out.push(calibrationRecord(n, t, sc.shortcut, sc.chance));
    }
  }
  return out;
}

function calibrationRecord(demos: number, t: Tally, shortcut: number, chance: number): Measurement {
  const v = calibrationVerdict(t.k, t.n, shortcut);
  return {
    metric: 'calibration_cell_accuracy', value: v.accuracy, unit: 'fraction', ci95: v.ci95,
    dims: { task: 'icl', experiment: 'order', demos, arrangement: 'random', n: t.n },
    note: `middle setting: ${v.inBand ? 'inside' : 'outside'} the 20-90% band, ${v.aboveShortcut ? 'above' : 'not above'} the shortcut ` +
      `${shortcut.toFixed(3)} (chance ${chance.toFixed(3)}); the rule binds the reference Transformer; other architectures fall where they fall`,
  };
}

/** Structured prompting against conventional ICL truncated to the context, per number of demonstrations. */
export function evalScaling(model: LanguageModel, s: IclSettings, task: IclTask, seed: number, onCell?: () => void): Measurement[] {
  const out: Measurement[] = [];
  const o = { format: s.format, context: model.config.seq, batch: s.evalBatch };
  const modes = model.structured ? (['conventional', 'structured'] as const) : (['conventional'] as const);
  out.push(model.structured
    ? { metric: 'structured_prompting', value: 1, unit: 'boolean', dims: { capability: 'structuredPrompting' } }
    : { metric: 'structured_prompting', value: 0, unit: 'boolean', dims: { capability: 'structuredPrompting' }, flag: 'absent',
        note: 'capability absent: the architecture does not declare structuredPrompting; only conventional ICL is measured' });
  for (const n of s.scaling.demos) {
    const sets = evalDemoSets(task, n, s.scaling.sets, seed, 'scaling');
    for (const mode of modes) {
      const cells: number[] = [];
      const all: ScoredItem[] = [];
      let groups = 1, seen = 0;
      const lists: Pair[][] = sets.flatMap((set, si) => Array.from({ length: s.scaling.permutations }, (_, p) => permutation(set, 'random', seed, 'scaling', n, si, p)));
      const conventional = mode === 'conventional' ? scoreConventionalMany(model, lists, o) : [];
      sets.forEach((_set, si) => {
        for (let p = 0; p < s.scaling.permutations; p++) {
          const demos = lists[si * s.scaling.permutations + p]!;
          let items: ScoredItem[];
          if (mode === 'structured') {
            const r = scoreStructured(model, demos, o);
            items = r.items;
            groups = r.groups;
            seen = n;
          } else {
            items = conventional[si * s.scaling.permutations + p]!;
            seen = Math.max(seen, ...items.map((i) => i.seen.length));
          }
          onCell?.();
          const t = tally(items);
          all.push(...items);
          cells.push(t.k / t.n);
          out.push(accuracyRecord('icl_accuracy', t.k, t.n, { experiment: 'scaling', mode, demos: n, set: si, permutation: p },
            1 / task.labels, cellShortcut(items, task.labels)));
        }
      });
      // structured and conventional records pair by demonstrations: M and the demonstrations seen are
      // derived, so they go in the note and in their own records below, not in dims
      const dims = { mode, demos: n };
      const sc = shortcutRecords('scaling', dims, all, task.labels);
      out.push(...sc.records);
      const t = tally(all);
      const pooled = accuracyRecord('icl_accuracy_pooled', t.k, t.n, { experiment: 'scaling', ...dims }, sc.chance, sc.shortcut);
      out.push({ ...pooled, note: `${pooled.note}; ${mode === 'structured' ? `${groups} groups` : `${seen} demonstrations seen after truncation`}` });
      out.push({ metric: 'accuracy_std', value: std(cells), unit: 'fraction', dims: { experiment: 'scaling', mode, demos: n }, ...(pooled.flag ? { flag: pooled.flag } : {}),
        note: `sample standard deviation of accuracy across ${cells.length} cells (demonstration sets x permutations)` +
          (pooled.flag ? `; pooled accuracy flagged ${pooled.flag}: not discriminating` : '') });
      out.push(mode === 'structured'
        ? { metric: 'structured_groups', value: groups, unit: 'count', dims: { demos: n }, note: 'groups M: each encoded independently, right-aligned' }
        : { metric: 'conventional_seen', value: seen, unit: 'count', dims: { demos: n }, note: 'demonstrations left after truncation to the context' });
    }
  }
  return out;
}

export const icl: Suite = {
  name: 'icl',
  description: 'in-context learning on task-trained models: order robustness (random vs clustered), structured prompting vs conventional ICL up to ~1000 demonstrations, ICL accuracy per architecture',
  settings: ICL_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  run(ctx: SuiteContext): Measurement[] {
    const s = ICL_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`icl: no settings for preset ${ctx.preset.name}`);
    const task: IclTask = { format: s.format, ...s.task };
    const episodes = iclTask(task);
    const icl = taskStream(episodes, s.trainDemos.map((demos) => ({ demos, layout: 'stream' as const })));
    const stream = s.withMqar ? mixture([{ stream: icl, rate: 1 }, { stream: mqarTrainingStream(ctx.corpus, ctx.preset.name), rate: 1 }]) : icl;
    const seq = taskConfig(ctx, s.training).seq;
    const probeCount = s.training.calibrate?.probe ?? 0;
    const probe: BudgetProbe = {
      episodes: probeCount ? sideEpisodes(episodes, { demos: s.middle }, seq, probeCount, ctx.seed, 'test', 'budget-probe') : [],
      spec: { setting: s.middle, length: seq, count: probeCount, side: 'test', cell: 'budget-probe' },
    };
    /** How a task model was trained and its budget set (`extra` dims on each record). */
    const trainingRecords = (m: { trained: TrainedModel; budget: Budget }, extra: Dims = {}): Measurement[] => [
      ...taskTrainingRecords('icl', s.training, m.trained.info).map((r) => ({ ...r, dims: { ...r.dims, ...extra } })),
      { metric: 'task_budget_steps', value: m.budget.steps, unit: 'steps', dims: { task: 'icl', ...extra }, note: m.budget.how },
    ];
    const { trained, budget } = budgetedModel(ctx, 'task:icl', stream, s.training, probe);
    const out: Measurement[] = trainingRecords({ trained, budget });
    try {
      if (s.training.init === 'text') {
        const text = ctx.textModel().model;
        const windows = evalWindows(ctx.corpus.splits.test, text.config.seq, ctx.preset.evalTokens);
        out.push({ metric: 'text_bpb', value: evaluateBpb(text, windows, ctx.preset.evalBatch), unit: 'bpb', dims: { split: 'test', checkpoint: 'text' },
          note: 'the text checkpoint the ICL task model started from' });
      }
      const orderCells = s.order.demos.length * s.order.arrangements.length * s.order.sets * s.order.permutations;
      /** Score one model (order, and scaling unless `own`), with progress lines and its evaluation time. */
      const score = (model: LanguageModel, own: boolean): Measurement[] => {
        const t0 = performance.now();
        const cells = orderCells + (own ? 0 : s.scaling.demos.length * s.scaling.sets * s.scaling.permutations * (model.structured ? 2 : 1));
        let done = 0;
        const tick = () => {
          ctx.meter.sample();
          if (++done % 50 === 0) log(`icl ${ctx.spec.name}${own ? ' (own budget)' : ''}: ${done}/${cells} cells scored, ${((performance.now() - t0) / 1000).toFixed(0)}s`);
        };
        const extra: Dims = own ? { budget: 'own' } : {};
        const recs = [...evalOrder(model, s, task, ctx.seed, tick, extra), ...(own ? [] : evalScaling(model, s, task, ctx.seed, tick))];
        return [...recs, { metric: 'icl_eval_seconds', value: (performance.now() - t0) / 1000, unit: 's', dims: { cells, ...extra } }];
      };
      const shared = score(trained.model, false);
      out.push(...shared);
      const middle = shared.find((r) => r.metric === 'calibration_cell_accuracy')!.value;
      if (s.order.ownBudgetAbove !== undefined && middle > s.order.ownBudgetAbove) {
        const own = ownBudgetModel(ctx, 'task:icl', stream, s.training, probe, budget.steps);
        if (own) {
          try {
            out.push(...trainingRecords(own, { budget: 'own' }), ...score(own.trained.model, true));
          } finally {
            disposeModel(own.trained.model);
          }
        }
      }
    } finally {
      disposeModel(trained.model);
    }
    return out;
  },
};

registerSuite(icl);
