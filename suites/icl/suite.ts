// In-context learning on task-trained models (./episodes.ts): order robustness (Differential
// Transformer), structured prompting against conventional ICL (Structured Prompting), and per-architecture
// ICL accuracy for the momentum-attention comparison (Dai et al.), which the claims ledger reads from the
// records beside the perplexity suite's bpb (the suite never names an architecture).
//
// The task model of each (architecture, preset, seed) trains on the ICL stream (with the preset's MQAR
// stream interleaved, where it says so) with the loss on the answers only, with the same budget, batch and
// optimizer for every architecture (./settings.ts; ../tasks/training.ts), from scratch or from the text
// checkpoint as the preset says. The budget is fixed by the preset, or calibrated per seed on the reference
// (ReferenceBudget) and then the same for every architecture of that seed.
// The dated calibration history: ./calibration.json.
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
// Accuracy flags (../tasks/score.ts): 'floor' (chance inside the 95% interval), 'ceiling' (>= 0.98),
// 'shortcut' (the interval does not clear the shortcut score).
import { evalWindows, mixture } from '../../harness/data/streams.ts';
import { disposeModel, type TrainedModel } from '../../harness/models.ts';
import { log } from '../../harness/progress.ts';
import { mean, std } from '../../harness/stats.ts';
import type { Dims } from '../../harness/store.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import type { LanguageModel } from '../../architectures/interface.ts';
import { evalDemoSets, iclTask, permutation, summariseShortcuts, type IclTask, type Pair } from './episodes.ts';
import { scoreConventionalMany, scoreStructured, type ScoredItem } from './score.ts';
import type { Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { calibrationVerdict, sideEpisodes } from '../tasks/calibrate.ts';
import { readCalibration, withCalibration } from '../tasks/calibration-history.ts';
import { taskStream } from '../tasks/episodes.ts';
import { mqarTrainingStream } from '../tasks/mqar.ts';
import { accuracyRecord } from '../tasks/score.ts';
import { budgetedModel, ownBudgetModel, taskConfig, taskTrainingRecords, type Budget, type BudgetProbe } from '../tasks/training.ts';
import { ICL_SETTINGS, type IclSettings } from './settings.ts';

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
export async function evalOrder(model: LanguageModel, s: IclSettings, task: IclTask, seed: number, onCell?: () => void, extra: Dims = {}): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const o = { format: s.format, context: model.config.seq, batch: s.evalBatch };
  for (const n of s.order.demos) {
    const sets = evalDemoSets(task, n, s.order.sets, seed, 'order');
    for (const arrangement of s.order.arrangements) {
      const perSet: number[][] = [];
      const all: ScoredItem[] = [];
      // every permutation of every set at once: equal-length prompts share decoding batches
      const lists = sets.flatMap((set, si) => Array.from({ length: s.order.permutations }, (_, p) => permutation(set, arrangement, seed, 'order', n, si, p)));
      const scored = await scoreConventionalMany(model, lists, o);
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
export async function evalScaling(model: LanguageModel, s: IclSettings, task: IclTask, seed: number, onCell?: () => void): Promise<Measurement[]> {
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
      const t0 = performance.now();
      const conventional = mode === 'conventional' ? await scoreConventionalMany(model, lists, o) : [];
      for (let si = 0; si < sets.length; si++) {
        for (let p = 0; p < s.scaling.permutations; p++) {
          const demos = lists[si * s.scaling.permutations + p]!;
          let items: ScoredItem[];
          if (mode === 'structured') {
            const r = await scoreStructured(model, demos, o);
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
      }
      out.push({ metric: 'scaling_cell_latency', value: (performance.now() - t0) / 1000 / cells.length, unit: 's', dims: { experiment: 'scaling', mode, demos: n },
        note: `wall time to score one cell (demonstration set x permutation: encode the demonstrations, score its test items), mean over ${cells.length} cells` });
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
  alone: 'cores',
  description: 'in-context learning on task-trained models: order robustness (random vs clustered), structured prompting vs conventional ICL up to ~1000 demonstrations, ICL accuracy per architecture',
  settings: withCalibration(ICL_SETTINGS, readCalibration(new URL('./calibration.json', import.meta.url))),
  async run(ctx: SuiteContext): Promise<Measurement[]> {
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
      ...taskTrainingRecords('icl', m.budget.training, m.trained.info).map((r) => ({ ...r, dims: { ...r.dims, ...extra } })),
      { metric: 'task_budget_steps', value: m.budget.steps, unit: 'steps', dims: { task: 'icl', ...extra }, note: m.budget.how },
    ];
    const { trained, budget } = await budgetedModel(ctx, 'task:icl', stream, s.training, probe);
    const out: Measurement[] = trainingRecords({ trained, budget });
    try {
      if (s.training.init === 'text') {
        const text = (await ctx.textModel()).model;
        const windows = evalWindows(ctx.corpus.splits.test, text.config.seq, ctx.preset.evalTokens);
        out.push({ metric: 'text_bpb', value: await evaluateBpb(text, windows, ctx.preset.evalBatch), unit: 'bpb', dims: { split: 'test', checkpoint: 'text' },
          note: 'the text checkpoint the ICL task model started from' });
      }
      const orderCells = s.order.demos.length * s.order.arrangements.length * s.order.sets * s.order.permutations;
      /** Score one model (order, and scaling unless `own`), with progress lines and its evaluation time. */
      const score = async (model: LanguageModel, own: boolean): Promise<Measurement[]> => {
        const t0 = performance.now();
        const cells = orderCells + (own ? 0 : s.scaling.demos.length * s.scaling.sets * s.scaling.permutations * (model.structured ? 2 : 1));
        let done = 0;
        const tick = () => {
          ctx.meter.sample();
          if (++done % 50 === 0) log(`icl ${ctx.spec.name}${own ? ' (own budget)' : ''}: ${done}/${cells} cells scored, ${((performance.now() - t0) / 1000).toFixed(0)}s`);
        };
        const extra: Dims = own ? { budget: 'own' } : {};
        const recs = [...await evalOrder(model, s, task, ctx.seed, tick, extra), ...(own ? [] : await evalScaling(model, s, task, ctx.seed, tick))];
        return [...recs, { metric: 'icl_eval_seconds', value: (performance.now() - t0) / 1000, unit: 's', dims: { cells, ...extra } }];
      };
      const shared = await score(trained.model, false);
      out.push(...shared);
      const middle = shared.find((r) => r.metric === 'calibration_cell_accuracy')!.value;
      if (s.order.ownBudgetAbove !== undefined && middle > s.order.ownBudgetAbove) {
        const own = await ownBudgetModel(ctx, 'task:icl', stream, budget.training, probe, budget.steps);
        if (own) {
          try {
            out.push(...trainingRecords(own, { budget: 'own' }), ...await score(own.trained.model, true));
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
