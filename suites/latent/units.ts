// Steps of a latent unit shared by the image and the speech halves: training a generator, timing generation.
import * as tf from '@tensorflow/tfjs';
import { meanCi } from '../../harness/stats.ts';
import type { GeneratorSettings, LatentGenerator } from './generator.ts';
import { fit, gatherRows, seededIndices } from './nets.ts';
import type { Measurement } from '../interface.ts';
import { latentStats, trainTokenizer, type Tokenizer, type TokenizerKind, type TokenizerSettings } from './tokenizers.ts';

/** Adam: `steps` batches of `batch` rows at rate `lr`. */
export interface FitSettings { steps: number; batch: number; lr: number }

/** What both halves set for their tokenizers and generators. */
export interface GenerationSettings {
  tokenizer: TokenizerSettings;
  generator: GeneratorSettings;
  /** Backbone + generator training. */
  train: FitSettings;
  /** The diffusion step counts evaluated (the most for the quality metrics) and the guidance weight. */
  diffusionSteps: number[];
  guidance: number;
}

/** A classifier MLP's sizes and training. */
export interface ClassifierSettings extends FitSettings { hidden: number; features: number }

/**
 * Train the backbone and the generator's own layers (Adam, `steps` batches of `batch` rows drawn by seed)
 * on rows [n, width] with their class labels; returns the final loss.
 */
export function trainGenerator(gen: LatentGenerator, rows: Float32Array, width: number, labels: ArrayLike<number>, t: FitSettings, seed: number): Promise<number> {
  return fit(gen.variables(), t.steps, t.lr, (step) => tf.tidy(() => {
    const idx = seededIndices(labels.length, t.batch, seed * 65537 + step);
    return gen.loss(gatherRows(rows, width, idx), idx.map((i) => labels[i]!), seed * 1009 + step);
  }));
}

/** Milliseconds per sample, generating (and reading back) one batch of `labels`. */
export async function msPerSample(gen: LatentGenerator, labels: number[], steps: number, guidance: number, seed: number): Promise<number> {
  const t0 = performance.now();
  const out = await gen.generate(labels, steps, guidance, seed);
  await out.data();
  out.dispose();
  return (performance.now() - t0) / labels.length;
}

/** Timed rounds per step count, after one untimed warm-up round (kernels built, caches filled). */
export const TIMED_ROUNDS = 4;

/** One step count's generation time: the mean over the timed rounds and its 95% t interval. */
export interface GenerationTime {
  ms: number;
  ci95: [number, number];
  note: string;
}

/**
 * Per step count, msPerSample over TIMED_ROUNDS alternated rounds after a warm-up round: the step counts
 * alternate so that a slow spell of a shared machine does not land on one of them only.
 */
export async function timedGeneration(gen: LatentGenerator, labels: number[], stepCounts: number[], guidance: number, seed: number): Promise<Map<number, GenerationTime>> {
  const times = new Map<number, number[]>(stepCounts.map((st) => [st, []]));
  for (let round = 0; round <= TIMED_ROUNDS; round++) {
    for (const st of stepCounts) {
      const ms = await msPerSample(gen, labels, st, guidance, seed);
      if (round > 0) times.get(st)!.push(ms);
    }
  }
  return new Map([...times].map(([st, xs]) => {
    const { mean: ms, ci95 } = meanCi(xs);
    return [st, { ms, ci95, note: `mean of ${xs.length} timed rounds after a warm-up, alternated across step counts; t interval over the rounds` }];
  }));
}

/**
 * Train each tokenizer on rows [n, width] and measure it on the test rows x: reconstruction error, and for
 * the continuous ones the latent variance and collapse (`tokens` names what a token is, for the note).
 */
export async function trainTokenizers(toks: Map<TokenizerKind, Tokenizer>, rows: Float32Array, n: number, x: tf.Tensor2D, seed: number, tokens: string): Promise<Measurement[]> {
  const records: Measurement[] = [];
  for (const [kind, tok] of toks) {
    const finalLoss = await trainTokenizer(tok, rows, n, seed);
    const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(tok.decode(tok.encode(x)), x))));
    const dims = { tokenizer: kind, split: 'test', steps: tok.s.steps };
    records.push({ metric: 'recon_mse', value: (await mse.data())[0]!, unit: 'mse', dims, note: `final training loss ${finalLoss.toFixed(4)}` });
    mse.dispose();
    if (kind !== 'vq') {
      const st = await latentStats(tok, x);
      records.push({ metric: 'latent_mu_variance', value: st.muVariance, unit: 'var', dims: { tokenizer: kind } });
      records.push({ metric: 'latent_collapsed_fraction', value: st.collapsed, unit: 'fraction', dims: { tokenizer: kind }, note: `latent dimensions with Var(mu) < 0.01 across test ${tokens}` });
      if (st.posteriorVariance !== null) records.push({ metric: 'vae_posterior_variance', value: st.posteriorVariance, unit: 'var', dims: { tokenizer: kind } });
    }
  }
  return records;
}
