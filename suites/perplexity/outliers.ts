// Activation outliers (the Diff Transformer's claim of fewer of them) and activation quantization, read
// through the model's optional ActivationProbe (capabilities.activations).
//   top1  = max |x|,  top10 = the 10th largest |x|,  kurtosis = E[(x - mu)^4] / E[(x - mu)^2]^2 (3 for a normal)
//   quantization (per tensor, symmetric, round to nearest): s = max|x| / (2^(bits-1) - 1),  q(x) = round(x / s) s
import * as tf from '@tensorflow/tfjs';
import type { ActivationProbe, LayerActivations } from '../../architectures/interface.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import type { Measurement } from '../interface.ts';

export interface OutlierStats {
  top1: number;
  top10: number;
  kurtosis: number;
}

/** top1, top10 (the 10th largest magnitude; the smallest when fewer than 10 values) and kurtosis of `xs`. */
export function outlierStats(xs: ArrayLike<number>): OutlierStats {
  const n = xs.length;
  const top: number[] = []; // the 10 largest magnitudes, descending
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(xs[i]!);
    sum += xs[i]!;
    if (top.length < 10 || a > top[9]!) {
      if (top.length === 10) top.pop();
      top.push(a);
      top.sort((x, y) => y - x);
    }
  }
  const mu = sum / n;
  let m2 = 0, m4 = 0;
  for (let i = 0; i < n; i++) {
    const c = (xs[i]! - mu) ** 2;
    m2 += c;
    m4 += c * c;
  }
  m2 /= n;
  m4 /= n;
  return { top1: top[0] ?? NaN, top10: top[top.length - 1] ?? NaN, kurtosis: m2 > 0 ? m4 / (m2 * m2) : NaN };
}

/** The causal entries (key j <= query i) of logits [B, H, T, T], row-major. */
export function causalEntries(logits: ArrayLike<number>, bh: number, t: number): Float32Array {
  const out = new Float32Array((bh * t * (t + 1)) / 2);
  let k = 0;
  for (let m = 0; m < bh; m++) for (let i = 0; i < t; i++) for (let j = 0; j <= i; j++) out[k++] = logits[(m * t + i) * t + j]!;
  return out;
}

/** x quantized per tensor to `bits` (symmetric, round to nearest); an all-zero x stays zero. */
export function quantize(x: tf.Tensor, bits: number): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.div(tf.max(tf.abs(x)), 2 ** (bits - 1) - 1);
    const safe = tf.where(tf.greater(s, 0), s, tf.onesLike(s));
    return tf.mul(tf.round(tf.div(x, safe)), safe);
  });
}

const KINDS = ['hidden', 'mixer', 'logits'] as const;
const METRICS = { top1: 'activation_top1', top10: 'activation_top10', kurtosis: 'activation_kurtosis' } as const;

/**
 * Per layer and kind (hidden: the residual stream after the layer; mixer: the mixer's output; logits: the
 * causal pre-softmax attention logits), top1 / top10 / kurtosis over tokens [B, T], plus layer 'max' (the
 * largest over layers). Layers without logits record none; a model with none says so in one record.
 */
export async function outlierRecords(probe: ActivationProbe, tokens: tf.Tensor2D): Promise<Measurement[]> {
  const layers = tf.tidy(() => probe.layers(tokens) as unknown as tf.TensorContainer) as unknown as LayerActivations[];
  const stats: Record<(typeof KINDS)[number], OutlierStats[]> = { hidden: [], mixer: [], logits: [] };
  const out: Measurement[] = [];
  for (const [l, a] of layers.entries()) {
    for (const kind of KINDS) {
      const t = a[kind];
      if (!t) continue;
      const data = await readAndDispose(t);
      const s = outlierStats(kind === 'logits' ? causalEntries(data, t.shape[0] * t.shape[1], t.shape[2]) : data);
      stats[kind].push(s);
      for (const [k, metric] of Object.entries(METRICS)) out.push({ metric, value: s[k as keyof OutlierStats], unit: 'value', dims: { layer: l, of: kind } });
    }
  }
  const note = `${tokens.shape[0]} test windows of ${tokens.shape[1]} tokens`;
  for (const kind of KINDS) {
    const ss = stats[kind];
    if (!ss.length) {
      out.push({ metric: 'activation_top1', value: NaN, unit: 'value', dims: { layer: 'max', of: kind }, flag: 'not_applicable',
        note: 'no softmax attention logits (retention / cross-attention mixers): the hidden states and mixer outputs are recorded instead' });
      continue;
    }
    for (const [k, metric] of Object.entries(METRICS)) {
      out.push({ metric, value: Math.max(...ss.map((s) => s[k as keyof OutlierStats])), unit: 'value', dims: { layer: 'max', of: kind }, note: `largest over ${ss.length} layer(s); ${note}` });
    }
  }
  return out;
}
