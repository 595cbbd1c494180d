// Calibration of synthetic-task budgets. The rule (DESIGN.md): per preset, the task's step budget is
// set so the reference Transformer lands between 20% and 90%, and clearly above the shortcut, at
// length T on the suite's middle setting. The suite's calibration.json then records the figure that fixed it
// (./calibration-history.ts).
//
// learningCurve() trains one model on a task stream and scores a fixed held-out evaluation set every
// few steps (greedy decoding, the real inference path); it is how budgets and the scratch-versus-text
// question were measured, by hand with `archbench calibrate` (cli/commands/calibrate.ts).
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import { wilson } from '../../harness/stats.ts';
import { Rng } from '../../harness/data/rng.ts';
import { batches, type WindowStream } from '../../harness/data/streams.ts';
import type { TrainConfig } from '../../harness/presets.ts';
import { train } from '../../harness/train/index.ts';
import { evalSeed, type Episode, type EpisodeTask, type Side } from './episodes.ts';
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
export async function exactCounts(model: LanguageModel, episodes: Episode[], batch: number): Promise<{ k: number; n: number }> {
  let k = 0, n = 0;
  for (const d of await decodeEpisodes(model, episodes, batch)) for (const c of d.correct) {
    n++;
    if (c) k++;
  }
  return { k, n };
}

/**
 * Teacher-forced accuracy of one-token answers: one full forward per episode, argmax at each answer's
 * position (a diagnostic beside exactCounts, which decodes on the real inference path).
 */
export async function forcedAccuracy(model: LanguageModel, episodes: Episode[]): Promise<number> {
  let k = 0, n = 0;
  for (const ep of episodes) {
    const pred = await readAndDispose(tf.tidy(() => tf.argMax(model.forward(tf.tensor2d(ep.tokens, [1, ep.tokens.length], 'int32')), -1)));
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
export async function learningCurve(model: LanguageModel, stream: WindowStream, cfg: TrainConfig, probes: Record<string, Episode[]>,
  opts: { seed: number; every: number; evalBatch: number; onPoint?: (p: CurvePoint) => void }): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  const t0 = performance.now();
  let tokens = 0;
  const point = async (step: number, loss: number) => {
    const scored: CurvePoint['probes'] = {};
    for (const [name, eps] of Object.entries(probes)) {
      const { k, n } = await exactCounts(model, eps, opts.evalBatch);
      scored[name] = { k, n, accuracy: k / n, forced: await forcedAccuracy(model, eps) };
    }
    const p = { step, tokens, seconds: (performance.now() - t0) / 1000, loss, probes: scored };
    points.push(p);
    opts.onPoint?.(p);
  };
  await point(0, NaN);
  // Probes are scored from the stop hook (it may be awaited; onStep may not), which never ends training.
  let last = NaN;
  await train(model, batches(stream, { batch: cfg.batch, seq: model.config.seq, seed: opts.seed }), cfg, {
    onStep: (_step, loss) => {
      tokens += cfg.batch * model.config.seq;
      last = loss;
    },
    stop: async (done) => {
      if (done % opts.every === 0 || done === cfg.steps) await point(done, last);
      return false;
    },
  });
  return points;
}
