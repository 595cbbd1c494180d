// Forgetting (self-decompression, TG-SFT): fine-tune each architecture's text model (domain A: the corpus's
// training split) on domain B (template instructions, ./instructions.ts) with one budget, four ways:
//   plain    B only;
//   real     B mixed with real A windows at replayRatio (the oracle);
//   tree     B mixed with the model's own tree-generated, de-duplicated samples (./tree.ts);
//   uniform  B mixed with as many independently sampled generations of the same length (the ablation).
// Generation runs on each architecture's own decoding path (prefill + step) and reports its tokens/s.
//
// Records (dims.method: before | plain | real | tree | uniform):
//   a_bpb, b_bpb             test bpb on A (the corpus's test split) and on B (test-side records)
//   forgetting_bpb           a_bpb(method) - a_bpb(before), paired over the same window groups
//   recovery                 (F_plain - F_m) / (F_plain - F_real): the share of real replay's benefit
//   replay_gain              F_against - F_method, paired bootstrap over window groups; note: better/tied/worse
//   generation_tokens_per_s, replay_sequences, train_seconds (per fine-tuning method; the runner adds the text checkpoint's, {model: text}; dims.cache says
//   whether it was trained in this run, which `analyze time` counts); calibration_forgetting (the plain row against
//   the rule: A's bpb up by >= 0.1 with an interval clear of 0.1's side, B learned).
// Intervals within a unit are over equal window groups; reports add intervals over seeds.
import type { LanguageModel } from '../../architectures/interface.ts';
import { unigramBpb } from '../../harness/data/corpus.ts';
import { evalWindows, mixture, textStream, type WindowStream } from '../../harness/data/streams.ts';
import { evaluateBpb } from '../../harness/evaluate.ts';
import { sha256, sourceVersion } from '../../harness/hash.ts';
import { corpusStream, disposeModel } from '../../harness/models.ts';
import { mean, meanCi, pairedBootstrap } from '../../harness/stats.ts';
import type { ResultRecord } from '../../harness/store.ts';
import type { FigureSpec, Measurement, Suite } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { streamModel } from '../tasks/training.ts';
import { instructionStream, instructionText } from './instructions.ts';
import { FORGETTING_SETTINGS } from './settings.ts';
import { linePrompts, treeReplay, uniformReplay, type Replay } from './tree.ts';

export const METHODS = ['plain', 'real', 'tree', 'uniform'] as const;
export type Method = (typeof METHODS)[number];

/** A's bpb must rise by this much under plain fine-tuning on the reference (the calibration rule). */
export const MIN_FORGETTING = 0.1;

/** bpb of each group of `batch` windows (the points of a within-unit interval). */
async function groupBpb(model: LanguageModel, windows: Int32Array[], batch: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i + batch <= windows.length; i += batch) out.push(await evaluateBpb(model, windows.slice(i, i + batch), batch));
  return out;
}

/**
 * 'floor' when the text model does no better on A than letter frequencies (an untrained model has
 * nothing to forget, so its forgetting does not discriminate).
 */
export const forgettingFloor = (beforeBpb: number, unigram: number): 'floor' | undefined => (beforeBpb >= unigram ? 'floor' : undefined);

/** better / tied / worse for `method` against `against` on forgetting (lower is better), paired over groups. */
function gainRecord(method: Method, against: Method, f: Record<Method, number[]>, flag?: string): Measurement {
  const p = pairedBootstrap(f[against], f[method]);
  const verdict = p.verdict === 'a' ? 'better' : p.verdict === 'b' ? 'worse' : 'tied';
  return {
    metric: 'replay_gain', value: p.diff, unit: 'bpb', ci95: p.ci95, dims: { method, against }, ...(flag ? { flag } : {}),
    note: `${verdict}: forgetting ${against} - ${method}, paired bootstrap over ${f[method].length} window groups`,
  };
}

const replayStream = (mode: string, r: Replay): WindowStream => textStream(r.bytes, { replay: mode, sha256: sha256(r.bytes) });

/** An architecture x method matrix of a metric's mean over seeds, as a labelled heat map. */
function matrix(records: ResultRecord[], metric: string, title: string, scheme: string): FigureSpec {
  const cells = new Map<string, { arch: string; method: string; values: number[] }>();
  for (const r of records.filter((r) => r.metric === metric && Number.isFinite(r.value))) {
    const key = `${r.arch}|${r.dims.method}`;
    const c = cells.get(key) ?? { arch: r.arch, method: String(r.dims.method), values: [] };
    c.values.push(r.value);
    cells.set(key, c);
  }
  const values = [...cells.values()].map((c) => ({ arch: c.arch, method: c.method, value: mean(c.values), seeds: c.values.length }));
  const x = { field: 'method', type: 'nominal', sort: ['before', ...METHODS], title: 'method', axis: { labelAngle: 0 } };
  return {
    name: `matrix-${metric}`, title, covers: [metric],
    caption: 'Mean over seeds per architecture and method; the per-seed intervals are in the records.',
    vegaLite: {
      data: { values },
      width: { step: 80 },
      height: { step: 28 },
      encoding: { x, y: { field: 'arch', type: 'nominal', title: 'architecture' } },
      layer: [
        { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', title: metric, scale: { scheme } } } },
        { mark: { type: 'text', fontSize: 11 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.3f' } } },
      ],
    },
  };
}

export const forgetting: Suite = {
  name: 'forgetting',
  description: 'catastrophic forgetting: text model fine-tuned on template instructions, plain / real replay / tree-generated self-replay / uniform self-replay; A and B bpb',
  settings: FORGETTING_SETTINGS as unknown as Record<string, Record<string, unknown>>,
  metrics: {
    forgetting_bpb: { direction: 'lower', kind: 'quality', headline: true },
    a_bpb: { direction: 'lower', kind: 'quality', headline: false },
    b_bpb: { direction: 'lower', kind: 'quality', headline: false },
    recovery: { direction: 'higher', kind: 'quality', headline: false },
    replay_gain: { direction: 'higher', kind: 'quality', headline: false },
    generation_tokens_per_s: { direction: 'higher', kind: 'throughput' },
    replay_sequences: { direction: 'none', kind: 'count' },
    train_seconds: { direction: 'lower', kind: 'bookkeeping', headline: false },
    calibration_forgetting: { direction: 'none', kind: 'info' },
  },
  methods: { axis: 'method', metric: 'forgetting_bpb', pairs: [['tree', 'plain'], ['tree', 'uniform'], ['uniform', 'plain'], ['real', 'plain']], also: ['b_bpb', 'recovery'] },
  figures(records) {
    return [
      matrix(records, 'forgetting_bpb', 'Forgetting: increase of A\'s test bpb after fine-tuning on B (architecture x method)', 'orangered'),
      matrix(records, 'b_bpb', 'What was learned: B\'s test bpb (architecture x method)', 'blues'),
    ];
  },
  async run(ctx): Promise<Measurement[]> {
    const s = FORGETTING_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`forgetting: no settings for preset ${ctx.preset.name}`);
    const text = await ctx.textModel();
    const base = text.model;
    const seq = base.config.seq;
    const aWindows = evalWindows(ctx.corpus.splits.test, seq, s.evalTokens);
    const bWindows = evalWindows(instructionText('test', s.evalTokens + 2 * seq), seq, s.evalTokens);
    const score = async (m: LanguageModel) => ({ a: await groupBpb(m, aWindows, s.evalBatch), b: await groupBpb(m, bWindows, s.evalBatch) });
    const before = await score(base);
    const unigram = unigramBpb(ctx.corpus.splits.train, ctx.corpus.splits.test);
    const floor = forgettingFloor(mean(before.a), unigram);

    const prompts = linePrompts(ctx.corpus.splits.train, s.tree, ctx.seed);
    const tree = await treeReplay(base, prompts, s.tree, ctx.seed);
    const uniform = await uniformReplay(base, prompts, s.tree, tree.kept, ctx.seed);
    ctx.meter.sample();

    const b = instructionStream(s.bBytes);
    const bSpec: WindowStream = { spec: { ...b.spec, code: sourceVersion(['suites/forgetting/instructions.ts']) }, window: (rng, n) => b.window(rng, n) };
    const withReplay = (replay: WindowStream) => mixture([{ stream: bSpec, rate: 1 - s.replayRatio }, { stream: replay, rate: s.replayRatio }]);
    const streams: Record<Method, WindowStream> = {
      plain: bSpec,
      real: withReplay(corpusStream(ctx.corpus)),
      tree: withReplay(replayStream('tree', tree)),
      uniform: withReplay(replayStream('uniform', uniform)),
    };

    const out: Measurement[] = [];
    const bpbRecords = (method: string, r: { a: number[]; b: number[] }) => (['a', 'b'] as const).map((d): Measurement => ({
      metric: `${d}_bpb`, value: meanCi(r[d]).mean, ci95: meanCi(r[d]).ci95, unit: 'bpb', dims: { method, split: 'test', tokens: r[d].length * s.evalBatch * seq },
    }));
    out.push(...bpbRecords('before', before));
    const f = {} as Record<Method, number[]>;
    const bAfter = {} as Record<Method, number>;
    for (const method of METHODS) {
      const tuned = await streamModel(ctx, `forgetting:${method}`, streams[method], s.finetune);
      let after;
      try {
        after = await score(tuned.model);
      } finally {
        disposeModel(tuned.model);
      }
      ctx.meter.sample();
      f[method] = after.a.map((x, i) => x - before.a[i]!);
      bAfter[method] = mean(after.b);
      const { mean: fm, ci95 } = meanCi(f[method]);
      out.push(...bpbRecords(method, after));
      out.push({
        metric: 'forgetting_bpb', value: fm, ci95, unit: 'bpb', dims: { method }, ...(floor ? { flag: floor } : {}),
        note: `A test bpb ${mean(before.a).toFixed(3)} -> ${mean(after.a).toFixed(3)}; B ${mean(before.b).toFixed(3)} -> ${bAfter[method].toFixed(3)}` +
          (floor ? `; the text model is at or above the unigram ${unigram.toFixed(3)}: nothing to forget` : ''),
      });
      out.push({ metric: 'train_seconds', value: tuned.info.seconds, unit: 's', dims: { method, cache: tuned.info.cache }, note: `fine-tuning, ${tuned.info.steps} steps` });
    }

    const fm = (m: Method) => mean(f[m]);
    const realGain = fm('plain') - fm('real');
    for (const method of ['tree', 'uniform'] as const) {
      out.push({
        metric: 'recovery', value: (fm('plain') - fm(method)) / realGain, unit: 'ratio', dims: { method }, ...(floor ? { flag: floor } : {}),
        note: `(F_plain - F_${method}) / (F_plain - F_real), F_plain - F_real = ${realGain.toFixed(4)} bpb` + (Math.abs(realGain) < 1e-3 ? ': real replay recovers nothing, the ratio does not discriminate' : ''),
      });
    }
    out.push(gainRecord('tree', 'plain', f, floor), gainRecord('tree', 'uniform', f, floor), gainRecord('uniform', 'plain', f, floor), gainRecord('real', 'plain', f, floor));

    for (const [mode, r] of [['tree', tree], ['uniform', uniform]] as const) {
      const how = `${r.tokens} tokens sampled on the prefill + step path at temperature ${s.tree.temperature}, batch ${s.tree.batch}`;
      out.push({ metric: 'generation_tokens_per_s', value: r.tokens / r.seconds, unit: 'tokens/s', dims: { mode }, note: how });
      out.push({ metric: 'replay_sequences', value: r.generated, unit: 'count', dims: { mode, stage: 'generated' } });
      out.push({ metric: 'replay_sequences', value: r.kept, unit: 'count', dims: { mode, stage: 'kept' }, note: `${r.bytes.length} replay bytes` });
    }
    out.push({ metric: 'replay_sequences', value: uniform.distinct, unit: 'count', dims: { mode: 'uniform', stage: 'distinct' }, note: 'the uniform samples that the tree\'s de-duplication would keep (all are replayed)' });

    const plain = meanCi(f.plain);
    const forgets = plain.mean >= MIN_FORGETTING && plain.ci95[0] > 0;
    const learned = mean(before.b) - bAfter.plain;
    const ok = forgets && learned > 0;
    out.push({
      metric: 'calibration_forgetting', value: plain.mean, unit: 'bpb', ci95: plain.ci95, dims: { budget_steps: s.finetune.train.steps },
      ...(ok ? {} : { flag: 'not_discriminating' }),
      note: `plain fine-tuning: A's bpb ${forgets ? 'rises' : 'does not rise'} by >= ${MIN_FORGETTING} with its interval above 0; B's bpb falls by ${learned.toFixed(3)}` +
        ` (${learned > 0 ? 'learned' : 'not learned'}); budget: ${s.budget}; the rule binds the reference Transformer` + (ok ? '' : '; not discriminating at this preset'),
    });
    return out;
  },
};

registerSuite(forgetting);
