// Generation on the real inference path (prefill + step through the LanguageModel interface), and the
// de-duplication of generated texts. Logits are read asynchronously (webgpu has no other way); tokens are
// drawn on the CPU from softmax(logits / temperature) with a seeded Rng, so a seed fixes every sample.
import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, disposeState } from '../architectures/decode-state.ts';
import type { LanguageModel } from '../architectures/interface.ts';
import { readAndDispose } from '../architectures/ops/read.ts';
import type { Rng } from './data/rng.ts';

/** What a generation call did: its continuations, and the decode steps and time it took (for tokens/s). */
export interface Generated {
  /** One continuation per prompt, `steps` tokens each. */
  continuations: Int32Array[];
  /** Tokens produced (rows x steps). */
  tokens: number;
  seconds: number;
}

/** tf.tidy for results that hold a DecodeState (its tensors are kept, the rest disposed). */
const tidyState = <T>(fn: () => T): T => tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;

/** One token from a row of logits: argmax at temperature 0, else a draw from softmax(logits / temperature). */
export function drawToken(logits: ArrayLike<number>, temperature: number, rng: Rng): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
  if (temperature <= 0) return best;
  // p_v = exp((l_v - l_max) / tau) / Z
  const weights = Array.from(logits, (l) => Math.exp((l - logits[best]!) / temperature));
  let u = rng.next() * weights.reduce((s, w) => s + w, 0);
  for (let v = 0; v < weights.length; v++) if ((u -= weights[v]!) < 0) return v;
  return best;
}

/** Sample `steps` tokens after each prompt of one batch (prompts share one length). */
async function generateBatch(model: LanguageModel, prompts: Int32Array[], steps: number, temperature: number, rng: Rng): Promise<Int32Array[]> {
  const b = prompts.length, len = prompts[0]!.length, vocab = model.config.vocab;
  const flat = new Int32Array(b * len);
  prompts.forEach((p, i) => flat.set(p, i * len));
  const out = prompts.map(() => new Int32Array(steps));
  const pre = tidyState(() => model.prefill(tf.tensor2d(flat, [b, len], 'int32'))); // logits [B, 1, V]
  let logits: tf.Tensor = pre.logits;
  let state = pre.state;
  for (let s = 0; ; s++) {
    const rows = await readAndDispose(logits); // [B, V]
    const next = new Int32Array(b);
    for (let i = 0; i < b; i++) next[i] = out[i]![s] = drawToken(rows.subarray(i * vocab, (i + 1) * vocab), temperature, rng);
    if (s === steps - 1) break;
    const r = tidyState(() => model.step(state, tf.tensor1d(next, 'int32'))); // logits [B, V]
    disposeReplaced(state, r.state);
    logits = r.logits;
    state = r.state;
  }
  disposeState(state);
  return out;
}

/**
 * Continue every prompt by `steps` sampled tokens (prefill + step), `batch` rows at a time; prompts of
 * different lengths go in different batches. Results are in the input order.
 */
export async function generate(model: LanguageModel, prompts: Int32Array[], steps: number, opts: { temperature: number; rng: Rng; batch: number }): Promise<Generated> {
  const t0 = performance.now();
  const continuations: Int32Array[] = new Array(prompts.length);
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]));
  for (const idx of byLength.values()) {
    for (let o = 0; o < idx.length; o += opts.batch) {
      const part = idx.slice(o, o + opts.batch);
      (await generateBatch(model, part.map((i) => prompts[i]!), steps, opts.temperature, opts.rng)).forEach((c, j) => (continuations[part[j]!] = c));
    }
  }
  return { continuations, tokens: prompts.length * steps, seconds: (performance.now() - t0) / 1000 };
}

/** The set of character n-grams of a text (the whole text when shorter than n). */
function ngrams(text: string, n: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + n <= text.length; i++) out.add(text.slice(i, i + n));
  if (out.size === 0) out.add(text);
  return out;
}

/** Jaccard similarity |A n B| / |A u B| of two n-gram sets. */
export function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const g of a) if (b.has(g)) inter++;
  return inter / (a.size + b.size - inter);
}

/**
 * Rejection-sampling de-duplication: walk the texts in order and keep one only if its character n-gram
 * Jaccard similarity to every text kept so far is below `threshold` (an exact duplicate has similarity 1).
 * Returns the kept indices.
 */
export function dedupe(texts: string[], opts: { n: number; threshold: number }): number[] {
  const kept: { i: number; grams: Set<string> }[] = [];
  texts.forEach((t, i) => {
    const grams = ngrams(t, opts.n);
    if (kept.every((k) => jaccard(grams, k.grams) < opts.threshold)) kept.push({ i, grams });
  });
  return kept.map((k) => k.i);
}
