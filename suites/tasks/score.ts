// Scoring episodes on the real inference path: prefill the prompt up to the first answer, then step one
// token at a time, feeding the model's own greedy output at answer positions and the episode's tokens
// elsewhere. A query is correct iff every decoded answer token equals the reference (exact match).
// Token ids are read asynchronously (webgpu has no other way). Also: per-cell accuracy records (Wilson intervals, floor/ceiling flags, the shortcut) and effective length.
import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, disposeState } from '../../architectures/decode-state.ts';
import type { LanguageModel } from '../../architectures/interface.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import { accuracyFlag, wilson } from '../../harness/stats.ts';
import type { Dims } from '../../harness/store.ts';
import type { Measurement } from '../interface.ts';
import type { Episode } from './episodes.ts';

export interface Decoded {
  /** Per query: the greedily decoded answer tokens. */
  predicted: number[][];
  /** Per query: exact match. */
  correct: boolean[];
}

function signature(ep: Episode): string {
  return `${ep.tokens.length}|${ep.queries.map((q) => `${q.start}+${q.answer.length}`).join(',')}`;
}

/** tf.tidy for results that hold a DecodeState (its tensors are kept, the rest disposed). */
const tidyState = <T>(fn: () => T): T => tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;

/** The greedy token of each row of logits [B, V] or [B, 1, V], as a tensor [B]. */
export const argmaxIds = (logits: tf.Tensor): tf.Tensor1D => tf.argMax(logits.reshape([logits.shape[0]!, -1]), -1);

/** Greedy decoding of one group of episodes that share length and answer positions. */
async function decodeGroup(model: LanguageModel, eps: Episode[]): Promise<Decoded[]> {
  const b = eps.length;
  const spans = eps[0]!.queries;
  const first = spans[0]!.start;
  const last = spans.at(-1)!.start + spans.at(-1)!.answer.length - 1;
  const isAnswer = new Map<number, number>(); // position -> query index
  spans.forEach((q, qi) => q.answer.forEach((_, j) => isAnswer.set(q.start + j, qi)));
  const preds = eps.map(() => new Int32Array(eps[0]!.tokens.length));

  const prompt = new Int32Array(b * first);
  eps.forEach((ep, i) => prompt.set(ep.tokens.subarray(0, first), i * first));
  const pre = tidyState(() => model.prefill(tf.tensor2d(prompt, [b, first], 'int32')));
  let logits: tf.Tensor = pre.logits;
  let state = pre.state;
  for (let p = first; ; p++) {
    const next = (await readAndDispose(tf.tidy(() => argmaxIds(logits)))) as Int32Array;
    logits.dispose();
    for (let i = 0; i < b; i++) preds[i]![p] = next[i]!;
    if (p === last) break;
    const feed = new Int32Array(b);
    for (let i = 0; i < b; i++) feed[i] = isAnswer.has(p) ? next[i]! : eps[i]!.tokens[p]!;
    const r = tidyState(() => model.step(state, tf.tensor1d(feed, 'int32')));
    disposeReplaced(state, r.state);
    logits = r.logits;
    state = r.state;
  }
  disposeState(state);
  return eps.map((ep, i) => {
    const predicted = ep.queries.map((q) => Array.from(preds[i]!.subarray(q.start, q.start + q.answer.length)));
    return { predicted, correct: predicted.map((p, qi) => p.every((t, j) => t === ep.queries[qi]!.answer[j])) };
  });
}

/**
 * Decode every episode greedily (prefill + step), in batches of at most `batch` episodes that share
 * their answer positions. Results are in the input order.
 */
export async function decodeEpisodes(model: LanguageModel, episodes: Episode[], batch: number): Promise<Decoded[]> {
  const out: Decoded[] = new Array(episodes.length);
  const groups = new Map<string, number[]>();
  episodes.forEach((ep, i) => {
    if (ep.queries.length === 0) throw new Error('an episode without queries cannot be scored');
    const s = signature(ep);
    groups.set(s, [...(groups.get(s) ?? []), i]);
  });
  for (const idx of groups.values()) {
    for (let o = 0; o < idx.length; o += batch) {
      const part = idx.slice(o, o + batch);
      (await decodeGroup(model, part.map((i) => episodes[i]!))).forEach((d, j) => (out[part[j]!] = d));
    }
  }
  return out;
}

/** Where an accuracy stands against the shortcut score: its 95% interval above, containing, or below it. */
export function versusShortcut(k: number, n: number, shortcut: number): 'above' | 'at' | 'below' {
  const [lo, hi] = wilson(k, n);
  return lo > shortcut ? 'above' : hi < shortcut ? 'below' : 'at';
}

/**
 * One accuracy record: value k/n, Wilson 95% interval, flag 'floor' (chance inside the interval) or
 * 'ceiling' (>= 0.98) per harness/stats.ts, else 'shortcut' when the interval does not clear the
 * shortcut score (below 1; with one needle copying is the task). The note gives k/n, chance and shortcut.
 */
export function accuracyRecord(metric: string, k: number, n: number, dims: Dims, chance: number, shortcut: number): Measurement {
  // With no distractor values (shortcut 1) copying is the task itself: no shortcut flag then.
  const vs = shortcut < 1 ? versusShortcut(k, n, shortcut) : undefined;
  const flag = accuracyFlag(k, n, chance) ?? (vs === undefined || vs === 'above' ? undefined : 'shortcut');
  return {
    metric, value: n ? k / n : NaN, unit: 'fraction', dims, ci95: wilson(k, n), ...(flag ? { flag } : {}),
    note: `${k}/${n} exact; chance ${fmt(chance)}, shortcut ${fmt(shortcut)} (${vs ? `${vs} shortcut` : 'no distractors: copying is the task'})`,
  };
}

const fmt = (x: number) => (x >= 0.01 ? x.toFixed(3) : x.toExponential(1));

/**
 * Effective length: the longest evaluated length L >= T such that accuracy stays at or above
 * `ratio` x the accuracy at T at every evaluated length from T up to L. Undefined when T was not
 * evaluated or its accuracy is 0.
 */
export function effectiveLength(acc: Map<number, number>, seq: number, ratio = 0.8): number | undefined {
  const base = acc.get(seq);
  if (base === undefined || !(base > 0)) return undefined;
  let best = seq;
  for (const l of [...acc.keys()].filter((l) => l > seq).sort((a, b) => a - b)) {
    if (acc.get(l)! >= ratio * base) best = l;
    else break;
  }
  return best;
}
