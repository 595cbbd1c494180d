// Calibration of synthetic-task budgets. The rule (DESIGN.md): per preset, the task's step budget is
// set so the reference Transformer lands between 20% and 90%, and clearly above the shortcut, at
// length T on the suite's middle setting. The preset then records the figure that fixed it.
//
// learningCurve() trains one model on a task stream and scores a fixed held-out evaluation set every
// few steps (greedy decoding, the real inference path); it is how budgets and the scratch-versus-text
// question were measured. Run by hand, e.g.:
//   node --import tsx suites/tasks/calibrate.ts mqar small scratch 300 25
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec, LanguageModel } from '../../architectures/interface.ts';
import { wilson } from '../../harness/stats.ts';
import { Rng } from '../../harness/data/rng.ts';
import { batches, mixture, type WindowStream } from '../../harness/data/streams.ts';
import type { TrainConfig } from '../../harness/presets.ts';
import { train } from '../../harness/train.ts';
import { evalSeed, taskStream, type Episode, type EpisodeTask, type Side } from './episodes.ts';
import { decodeEpisodes, versusShortcut } from './score.ts';

export const CALIBRATION_BAND: readonly [number, number] = [0.2, 0.9];

export interface CalibrationVerdict {
  accuracy: number;
  ci95: [number, number];
  shortcut: number;
  inBand: boolean;
  aboveShortcut: boolean;
  ok: boolean;
}

/** Whether k/n correct at the middle setting satisfies the calibration rule. */
export function calibrationVerdict(k: number, n: number, shortcut: number): CalibrationVerdict {
  const accuracy = n ? k / n : 0;
  const inBand = accuracy >= CALIBRATION_BAND[0] && accuracy <= CALIBRATION_BAND[1];
  const aboveShortcut = versusShortcut(k, n, shortcut) === 'above';
  return { accuracy, ci95: wilson(k, n), shortcut, inBand, aboveShortcut, ok: inBand && aboveShortcut };
}

/** A fixed evaluation set: `count` test-side episodes of one setting and length. */
export function evalEpisodes<S>(task: EpisodeTask<S>, setting: S, length: number, count: number, seed: number, ...cell: (string | number)[]): Episode[] {
  return sideEpisodes(task, setting, length, count, seed, 'test', ...cell);
}

/** `count` episodes from one side (diagnostics compare 'train' with 'test'). */
export function sideEpisodes<S>(task: EpisodeTask<S>, setting: S, length: number, count: number, seed: number, side: Side, ...cell: (string | number)[]): Episode[] {
  const out: Episode[] = [];
  for (let t = 0; t < count; t++) {
    const ep = task.episode(new Rng(evalSeed(seed, task.name, task.label(setting), length, ...cell, t)), length, setting, side);
    if (!ep) throw new Error(`${task.name} ${task.label(setting)} does not fit ${length} tokens`);
    out.push(ep);
  }
  return out;
}

/** Exact-match counts over episodes. */
export function exactCounts(model: LanguageModel, episodes: Episode[], batch: number): { k: number; n: number } {
  let k = 0, n = 0;
  for (const d of decodeEpisodes(model, episodes, batch)) for (const c of d.correct) {
    n++;
    if (c) k++;
  }
  return { k, n };
}

/**
 * Teacher-forced accuracy of one-token answers: one full forward per episode, argmax at each answer's
 * position (a diagnostic beside exactCounts, which decodes on the real inference path).
 */
export function forcedAccuracy(model: LanguageModel, episodes: Episode[]): number {
  let k = 0, n = 0;
  for (const ep of episodes) {
    const pred = tf.tidy(() => tf.argMax(model.forward(tf.tensor2d(ep.tokens, [1, ep.tokens.length], 'int32')), -1).dataSync() as Int32Array);
    for (const q of ep.queries) {
      n++;
      if (pred[q.start - 1] === q.answer[0]) k++;
    }
  }
  return n ? k / n : NaN;
}

export interface CurvePoint {
  step: number;
  tokens: number;
  seconds: number;
  loss: number;
  /** Exact-match counts per probe. */
  probes: Record<string, { k: number; n: number; accuracy: number; forced: number }>;
}

/**
 * Train `model` (already initialised: scratch or copied weights) on a task stream and score each
 * probe (a fixed held-out episode set) every `every` steps and at the end. Returns the curve.
 */
export function learningCurve(model: LanguageModel, stream: WindowStream, cfg: TrainConfig, probes: Record<string, Episode[]>,
  opts: { seed: number; every: number; evalBatch: number; onPoint?: (p: CurvePoint) => void }): CurvePoint[] {
  const points: CurvePoint[] = [];
  const t0 = performance.now();
  let tokens = 0;
  const point = (step: number, loss: number) => {
    const scored = Object.fromEntries(Object.entries(probes).map(([name, eps]) => {
      const { k, n } = exactCounts(model, eps, opts.evalBatch);
      return [name, { k, n, accuracy: k / n, forced: forcedAccuracy(model, eps) }];
    }));
    const p = { step, tokens, seconds: (performance.now() - t0) / 1000, loss, probes: scored };
    points.push(p);
    opts.onPoint?.(p);
  };
  point(0, NaN);
  train(model, batches(stream, { batch: cfg.batch, seq: model.config.seq, seed: opts.seed }), cfg, {
    onStep: (step, loss) => {
      tokens += cfg.batch * model.config.seq;
      if ((step + 1) % opts.every === 0 || step + 1 === cfg.steps) point(step + 1, loss);
    },
  });
  return points;
}

// --- by hand: node --import tsx suites/tasks/calibrate.ts <needle|mqar|retrieval> <preset> <scratch|text> <steps> <every> [batch] [lr] [key=value ...]
// keys: arch, seq (episode length), layers, keys, values, filler, train (pairs), middle, extra, fill, probe, side, warmup, beta2, minLrFrac,
// weightDecay, embScale, init=torch, ...
// (retrieval: both streams 1:1, both probes)
if (process.argv[1]?.endsWith('calibrate.ts')) {
  const [taskName = 'mqar', presetName = 'small', init = 'scratch', stepsArg = '200', everyArg = '25', batchArg = '16', lrArg = '1e-3', ...rest] = process.argv.slice(2);
  const extra = Object.fromEntries(rest.map((kv) => kv.split('=')).map(([k, v]) => [k!, Number.isNaN(Number(v)) ? v! : Number(v)]));
  const [{ getArchitecture }, { selectBackend }, { loadCorpus }, models, { PRESETS }, retrieval, { ModelCache }] = await Promise.all([
    import('../../architectures/index.ts'), import('../../harness/backend.ts'), import('../../harness/data/corpus.ts'),
    import('../../harness/models.ts'), import('../../harness/presets.ts'), import('./retrieval.ts'), import('../../harness/cache.ts'),
  ]);
  await selectBackend(String(extra.backend ?? 'wasm'));
  const preset = PRESETS[presetName]!;
  const spec = getArchitecture(String(extra.arch ?? 'transformer')) as ArchitectureSpec;
  const corpus = loadCorpus();
  const matched = models.matchedConfig(spec, preset, 'params').config;
  const config = { ...matched, ...(extra.seq ? { seq: Number(extra.seq) } : {}), ...(extra.layers ? { layers: Number(extra.layers) } : {}) };
  const seq = config.seq;
  const model = models.buildModel(spec, config, 0);
  // embScale=X multiplies the initial embedding table (an init experiment: PyTorch's default is N(0, 1))
  if (extra.embScale) model.params.get('embed').assign(tf.mul(model.params.get('embed'), Number(extra.embScale)));
  // init=torch: PyTorch's defaults instead (embedding N(0, 1); every other matrix U(+-1/sqrt(fan_in)))
  if (extra.init === 'torch') {
    for (const [name, v] of model.params.vars) {
      if (v.shape.length !== 2) continue;
      v.assign(name === 'embed' ? tf.randomNormal(v.shape, 0, 1, 'float32', 1) : tf.randomUniform(v.shape, -1 / Math.sqrt(v.shape[0]!), 1 / Math.sqrt(v.shape[0]!), 'float32', 1));
    }
  }
  if (init === 'text') {
    // textKey=NAME pins the text checkpoint under a fixed name in the cache (immune to code-version churn).
    const cache = new ModelCache(String(extra.cache ?? '.cache/archbench'));
    const pinned = extra.textKey ? String(extra.textKey) : undefined;
    if (!pinned || cache.load(pinned, model.params).status !== 'hit') {
      const text = models.trainedModel(cache, { spec, config, seed: 0, stream: models.corpusStream(corpus), train: preset.train, purpose: 'text' });
      for (const [n, v] of model.params.vars) v.assign(text.model.params.get(n));
      if (pinned) cache.save(pinned, model.params, text.info);
      text.model.params.dispose();
    }
    if (extra.textOnly) process.exit(0);
  }
  const cfg: TrainConfig = { ...preset.train, batch: Number(batchArg), steps: Number(stepsArg), lr: Number(lrArg), warmup: Number(extra.warmup ?? 20),
    ...(extra.beta2 ? { beta2: Number(extra.beta2) } : {}), ...(extra.minLrFrac ? { minLrFrac: Number(extra.minLrFrac) } : {}),
    ...(extra.weightDecay !== undefined ? { weightDecay: Number(extra.weightDecay) } : {}) };
  const probeCount = Number(extra.probe ?? 32);
  const log = (p: CurvePoint) => process.stdout.write(`${JSON.stringify({ ...p, seconds: +p.seconds.toFixed(1), loss: +p.loss.toFixed(4) })}\n`);
  const side = (extra.side as Side) ?? 'test';
  const extraQ = extra.extra ? Number(extra.extra) : undefined;
  const mq = retrieval.mqarTask(corpus, { keySymbols: Number(extra.keys ?? 64), valueSymbols: Number(extra.values ?? 64), filler: (extra.filler as 'pad' | 'text') ?? 'pad' });
  const nd = retrieval.needleTask(corpus, { format: (extra.format as 'compact' | 'natural') ?? 'compact' });
  const mqTrain = String(extra.train ?? '4,8,16,32').split(',').map((p) => ({ pairs: Number(p), extra: extraQ, fill: Boolean(extra.fill) }));
  const ndTrain = String(extra.trainNeedles ?? extra.train ?? '1,2,4,6,8').split(',').map((n) => ({ needles: Number(n), queried: Number(n), extra: extra.extraNeedles ? Number(extra.extraNeedles) : extraQ }));
  const pairsProbe = String(taskName === 'mqar' ? extra.middle ?? 8 : extra.middlePairs ?? 8).split(',').map(Number);
  const needleProbe = String(extra.middleNeedles ?? (taskName === 'needle' ? extra.middle : undefined) ?? '4/2').split(',').map((x) => x.split('/').map(Number));
  const probes: Record<string, Episode[]> = {};
  if (taskName !== 'mqar') for (const [n, r] of needleProbe) probes[`needle${n}/${r}`] = sideEpisodes(nd, { needles: n!, queried: r! }, seq, Number(extra.probeNeedles ?? probeCount), 1000, side, 'calibration');
  if (taskName !== 'needle') for (const k of pairsProbe) probes[`mqar${k}`] = sideEpisodes(mq, { pairs: k }, seq, probeCount, 1000, side, 'calibration');
  const stream = taskName === 'mqar' ? taskStream(mq, mqTrain) : taskName === 'needle' ? taskStream(nd, ndTrain)
    : mixture([{ stream: taskStream(nd, ndTrain), rate: 1 }, { stream: taskStream(mq, mqTrain), rate: 1 }]);
  learningCurve(model, stream, cfg, probes, { seed: 0, every: Number(everyArg), evalBatch: 16, onPoint: log });
}
