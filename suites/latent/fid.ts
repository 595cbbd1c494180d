// Image metrics in the feature space of a glyph classifier trained here (NOT Inception FID):
//   FID = ||m1 - m2||^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2),
// with Tr((C1^1/2 C2 C1^1/2)^1/2) = sum sqrt(eig(C1^1/2 C2 C1^1/2)) (symmetric, so Jacobi eigenvalues).
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../architectures/layers.ts';
import { quantile } from '../../harness/stats.ts';
import { seededRandom } from './glyphs.ts';
import { Mlp, fit, gatherRows, seededIndices } from './nets.ts';

/** Mean and covariance (1/(n-1)) of rows x[n][d]. */
export function moments(rows: number[][]): { mean: number[]; cov: number[][] } {
  const n = rows.length, d = rows[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j]!, 0) / n);
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of rows) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i]![j]! += ((r[i]! - mean[i]!) * (r[j]! - mean[j]!)) / (n - 1);
  return { mean, cov };
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: values and vectors (columns). */
export function symmetricEigen(a: number[][]): { values: number[]; vectors: number[][] } {
  const d = a.length;
  const m = a.map((r) => [...r]);
  const v: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) off += m[i]![j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        if (Math.abs(m[p]![q]!) < 1e-300) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * m[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const mkp = m[k]![p]!, mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const mpk = m[p]![k]!, mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k]![p]!, vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: m.map((r, i) => r[i]!), vectors: v };
}

const matMul = (a: number[][], b: number[][]): number[][] => a.map((r) => b[0]!.map((_, j) => r.reduce((s, x, k) => s + x * b[k]![j]!, 0)));

/** Symmetric PSD square root V diag(sqrt(max(l, 0))) V^T. */
function sqrtPsd(a: number[][]): number[][] {
  const { values, vectors } = symmetricEigen(a);
  const d = a.length;
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) =>
    values.reduce((s, l, k) => s + vectors[i]![k]! * Math.sqrt(Math.max(l, 0)) * vectors[j]![k]!, 0)));
}

/** Frechet distance between N(m1, C1) and N(m2, C2). */
export function frechetDistance(a: { mean: number[]; cov: number[][] }, b: { mean: number[]; cov: number[][] }): number {
  const r = sqrtPsd(a.cov);
  const inner = matMul(matMul(r, b.cov), r);
  const traceSqrt = symmetricEigen(inner).values.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
  const dm = a.mean.reduce((s, m, i) => s + (m - b.mean[i]!) ** 2, 0);
  const tr = (c: number[][]) => c.reduce((s, row, i) => s + row[i]!, 0);
  return dm + tr(a.cov) + tr(b.cov) - 2 * traceSqrt;
}

/**
 * FID of sample features against the reference statistics, with a 95% percentile bootstrap interval over
 * the samples (resampled with replacement, `resamples` times, seeded; the reference statistics held fixed).
 */
export function fidWithInterval(features: number[][], real: { mean: number[]; cov: number[][] }, resamples: number, seed: number): { fid: number; ci95: [number, number] } {
  const fid = frechetDistance(moments(features), real);
  const rand = seededRandom(seed);
  const draws = Array.from({ length: resamples }, () =>
    frechetDistance(moments(features.map(() => features[Math.floor(rand() * features.length)]!)), real)).sort((a, b) => a - b);
  return { fid, ci95: [quantile(draws, 0.025), quantile(draws, 0.975)] };
}

/**
 * A classifier MLP width -> hidden -> features -> classes: the glyph classifier (FID reads its features
 * layer), the speech frame recognizer and the speaker classifier (speaker similarity reads its features).
 */
export class MlpClassifier {
  readonly net: Mlp;
  readonly params: Params;
  constructor(readonly width: number, hidden: number, readonly features: number, classes: number, seed: number) {
    this.params = new Params(seed);
    this.net = new Mlp(this.params, 'classifier', [width, hidden, features, classes]);
  }

  /** Cross-entropy on rows [n, width] (row-major) with their labels, Adam, `steps` batches drawn by seed. */
  async train(rows: Float32Array, labels: ArrayLike<number>, steps: number, batch: number, lr: number, seed: number): Promise<number> {
    const n = labels.length;
    return fit(this.params.vars, steps, lr, (step) => tf.tidy(() => {
      const idx = seededIndices(n, batch, seed * 31 + step);
      const onehot = tf.oneHot(tf.tensor1d(idx.map((i) => labels[i]!), 'int32'), this.net.weights.at(-1)!.shape[1]!);
      return tf.losses.softmaxCrossEntropy(onehot, this.net.apply(gatherRows(rows, this.width, idx))) as tf.Scalar;
    }));
  }

  /** rows [n, width] -> (features [n][F], predicted classes [n]). */
  async read(x: tf.Tensor2D): Promise<{ features: number[][]; predicted: number[] }> {
    const [f, p] = tf.tidy(() => {
      const feat = this.net.apply(x, true); // post-ReLU penultimate activations
      const logits = tf.add(tf.matMul(feat, this.net.weights.at(-1)!), this.net.biases.at(-1)!);
      return [feat, tf.argMax(logits, 1)];
    });
    const flat = await f!.data(), pred = Array.from(await p!.data()) as number[];
    const F = this.features;
    f!.dispose(); p!.dispose();
    return { features: pred.map((_, i) => Array.from(flat.subarray(i * F, (i + 1) * F))), predicted: pred };
  }
}
