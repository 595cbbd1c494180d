// Crescent's rejection-sampling similarity. Where the architecture declares continuousInput, a question
// is the model's own view of it: its hidden states mean-pooled over the prompt's positions,
//   v_i = mean_t h_{i,t},  h = forwardHidden(E[tokens_i])               [N, T, D] -> [N, D]
// centred over the candidates (u_i = v_i - mean_j v_j: every question shares the 'Q:..+..=' frame, which
// otherwise dominates the cosine), and a candidate is rejected when cos(u_i, u_k) >= threshold for a kept k.
// Elsewhere: character n-gram Jaccard (harness/generate.ts). Which one ran is returned for the records.
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { dedupe } from '../../harness/generate.ts';

export interface SimilaritySettings {
  /** Fallback: character n-grams of 'aa+bb' and the Jaccard similarity that rejects. */
  ngram: number;
  threshold: number;
  /** Hidden states: the cosine (of centred mean-pooled states) that rejects. */
  hiddenThreshold: number;
}

export type SimilarityUsed = { method: 'hidden'; dims: number; threshold: number } | { method: 'ngram'; n: number; threshold: number };

/** Greedy rejection sampling on vectors: keep i when its cosine to every kept vector is below threshold. */
export function dedupeVectors(vectors: Float32Array[], threshold: number): number[] {
  const unit = vectors.map((v) => {
    const norm = Math.hypot(...v);
    return norm > 0 ? v.map((x) => x / norm) : v;
  });
  const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j]!, 0);
  const kept: number[] = [];
  unit.forEach((u, i) => {
    if (kept.every((k) => cos(u, unit[k]!) < threshold)) kept.push(i);
  });
  return kept;
}

/** Mean-pooled, centred hidden states of equal-length token rows [N, T] -> N vectors of D, in batches. */
export async function pooledHidden(model: LanguageModel, rows: Int32Array[], batch: number): Promise<Float32Array[]> {
  const D = model.config.d, T = rows[0]!.length;
  const pooled: Float32Array[] = [];
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const v = tf.tidy(() => {
      const tokens = tf.tensor2d(chunk.flatMap((r) => [...r]), [chunk.length, T], 'int32');
      const x = tf.gather(model.params.get('embed'), tokens.flatten()).reshape([chunk.length, T, D]) as tf.Tensor3D;
      return tf.mean(model.forwardHidden!(x), 1); // [b, D]
    });
    const data = (await v.data()) as Float32Array;
    v.dispose();
    for (let j = 0; j < chunk.length; j++) pooled.push(data.slice(j * D, (j + 1) * D));
  }
  const centre = new Float32Array(D);
  for (const p of pooled) p.forEach((x, j) => (centre[j]! += x / pooled.length));
  return pooled.map((p) => p.map((x, j) => x - centre[j]!));
}

/** Indices of the texts kept; `rows` are their token rows (equal length) for the hidden-state path. */
export async function dedupeQuestions(model: LanguageModel, texts: string[], rows: Int32Array[], s: SimilaritySettings, batch: number): Promise<{ kept: number[]; used: SimilarityUsed }> {
  if (model.capabilities.continuousInput && model.forwardHidden && rows.length > 0) {
    const kept = dedupeVectors(await pooledHidden(model, rows, batch), s.hiddenThreshold);
    return { kept, used: { method: 'hidden', dims: model.config.d, threshold: s.hiddenThreshold } };
  }
  return { kept: dedupe(texts, { n: s.ngram, threshold: s.threshold }), used: { method: 'ngram', n: s.ngram, threshold: s.threshold } };
}
