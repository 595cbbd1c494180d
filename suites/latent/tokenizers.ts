// Tokenizers over a token layout: an image [S, S] is cut into P x P patches (N = (S/P)^2 of them, raster
// order), a log-mel spectrogram [T, M] into groups of G frames (N = T/G); each token is encoded by one MLP
// to a c-dim latent, so the backbone models a sequence of N vectors.
//   sigma-VAE (LatentLM): mu = Enc(x); z = mu + sigma * eps, sigma ~ |N(0, C_sigma)| per sample, eps ~ N(0, I);
//                         loss = ||Dec(z) - x||^2 + beta_mu ||mu||^2 (no learned variance: cannot collapse).
//   VAE (baseline):       mu, log s^2 = Enc(x); z = mu + s * eps; loss = ||Dec(z) - x||^2 + beta KL(N(mu, s^2) || N(0, I)).
//   VQ-VAE (discrete):    z_e = Enc(x); k = argmin_j ||z_e - e_j||; z_q = e_k (straight-through);
//                         loss = ||Dec(z_q) - x||^2 + ||sg(z_e) - e_k||^2 + beta_c ||z_e - sg(e_k)||^2.
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../architectures/layers.ts';
import { Mlp, fit, gatherRows, lookupRows, seededIndices, stopGradient, tfSeed } from './nets.ts';

export type TokenizerKind = 'sigma-vae' | 'vae' | 'vq';

export interface TokenizerSettings {
  /** Images: the patch side P; spectrograms: frames per token G. */
  patch: number;
  latent: number;
  hidden: number;
  steps: number;
  batch: number;
  lr: number;
  /** sigma-VAE: sigma ~ |N(0, sigmaScale)|; beta_mu on ||mu||^2. */
  sigmaScale: number;
  betaMu: number;
  /** VAE: weight on the KL term. */
  betaKl: number;
  /** VQ: codebook size and commitment weight. */
  codes: number;
  betaCommit: number;
}

/** [n, S*S] images -> [n, N, P*P] patches (raster order of patches, raster order inside a patch). */
export function patchify(x: tf.Tensor2D, size: number, patch: number): tf.Tensor3D {
  const g = size / patch, n = x.shape[0];
  return x.reshape([n, g, patch, g, patch]).transpose([0, 1, 3, 2, 4]).reshape([n, g * g, patch * patch]) as tf.Tensor3D;
}

/** Inverse of patchify. */
export function unpatchify(p: tf.Tensor3D, size: number, patch: number): tf.Tensor2D {
  const g = size / patch, n = p.shape[0];
  return p.reshape([n, g, g, patch, patch]).transpose([0, 1, 3, 2, 4]).reshape([n, size * size]) as tf.Tensor2D;
}

/** How a flat sample [width] becomes N tokens of tokenWidth values, and back. */
export interface TokenLayout {
  width: number;
  tokens: number;
  tokenWidth: number;
  split(x: tf.Tensor2D): tf.Tensor3D;
  join(p: tf.Tensor3D): tf.Tensor2D;
}

/** Images [n, S*S] as (S/P)^2 patches of P*P pixels. */
export function imageLayout(size: number, patch: number): TokenLayout {
  return { width: size * size, tokens: (size / patch) ** 2, tokenWidth: patch * patch, split: (x) => patchify(x, size, patch), join: (p) => unpatchify(p, size, patch) };
}

/** Spectrograms [n, T*M] (frame-major) as T/G tokens of G consecutive frames: [n, T/G, G*M]. */
export function frameLayout(frames: number, mels: number, group: number): TokenLayout {
  const tokens = frames / group, tokenWidth = group * mels;
  return { width: frames * mels, tokens, tokenWidth, split: (x) => x.reshape([x.shape[0], tokens, tokenWidth]), join: (p) => p.reshape([p.shape[0], frames * mels]) };
}

export class Tokenizer {
  readonly enc: Mlp;
  readonly dec: Mlp;
  readonly codebook?: tf.Variable;
  readonly tokens: number;
  constructor(readonly kind: TokenizerKind, readonly s: TokenizerSettings, readonly layout: TokenLayout, readonly params: Params) {
    const px = layout.tokenWidth;
    this.enc = new Mlp(params, `${kind}.enc`, [px, s.hidden, kind === 'vae' ? 2 * s.latent : s.latent]);
    this.dec = new Mlp(params, `${kind}.dec`, [s.latent, s.hidden, px]);
    if (kind === 'vq') this.codebook = params.add(`${kind}.codebook`, [s.codes, s.latent], { kind: 'normal', std: 1 });
    this.tokens = layout.tokens;
  }

  /** samples [n, width] -> the deterministic latents [n, N, c] (mu; for VQ the quantised code vectors). */
  encode(x: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.enc.apply(this.layout.split(x)) as tf.Tensor3D;
      const mu = this.kind === 'vae' ? (h.slice([0, 0, 0], [-1, -1, this.s.latent]) as tf.Tensor3D) : h;
      return this.kind === 'vq' ? this.quantise(mu).zq : mu;
    });
  }

  /** VQ: images [n, S*S] -> their codes [n, N]. */
  codes(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.quantise(this.enc.apply(this.layout.split(x)) as tf.Tensor3D).codes);
  }

  /** VQ: nearest code per vector, z [n, N, c] -> codes [n, N] and their vectors. */
  quantise(z: tf.Tensor3D): { codes: tf.Tensor2D; zq: tf.Tensor3D } {
    const [n, t, c] = z.shape;
    const flat = z.reshape([n * t, c]);
    const e = this.codebook!;
    // ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2
    const dist = tf.add(tf.sub(tf.sum(tf.square(flat), 1, true), tf.mul(2, tf.matMul(flat, e, false, true))), tf.sum(tf.square(e), 1));
    const codes = tf.argMin(dist, 1).reshape([n, t]) as tf.Tensor2D;
    return { codes, zq: this.lookup(codes) };
  }

  lookup(codes: tf.Tensor2D): tf.Tensor3D {
    return lookupRows(this.codebook!, codes) as tf.Tensor3D;
  }

  /** latents [n, N, c] -> images [n, S*S], clipped to [0, 1]. */
  decode(z: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => tf.clipByValue(this.layout.join(tf.sigmoid(this.dec.apply(z)) as tf.Tensor3D), 0, 1) as tf.Tensor2D);
  }

  /** One training loss on images x [b, S*S]; `seed` makes the noise deterministic. */
  loss(x: tf.Tensor2D, seed: number): tf.Scalar {
    const s = this.s;
    const target = this.layout.split(x);
    const h = this.enc.apply(target) as tf.Tensor3D;
    const recon = (z: tf.Tensor3D) => tf.mean(tf.square(tf.sub(tf.sigmoid(this.dec.apply(z)), target)));
    if (this.kind === 'sigma-vae') {
      const sigma = tf.abs(tf.randomNormal([h.shape[0], 1, 1], 0, s.sigmaScale, 'float32', tfSeed(seed)));
      const z = tf.add(h, tf.mul(sigma, tf.randomNormal(h.shape, 0, 1, 'float32', tfSeed(seed + 1)))) as tf.Tensor3D;
      return tf.add(recon(z), tf.mul(s.betaMu, tf.mean(tf.square(h)))) as tf.Scalar;
    }
    if (this.kind === 'vae') {
      const mu = h.slice([0, 0, 0], [-1, -1, s.latent]) as tf.Tensor3D;
      const logVar = h.slice([0, 0, s.latent], [-1, -1, s.latent]);
      const z = tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), tf.randomNormal(mu.shape, 0, 1, 'float32', tfSeed(seed)))) as tf.Tensor3D;
      // KL = 1/2 sum(mu^2 + s^2 - log s^2 - 1), averaged per latent dimension
      const kl = tf.mul(0.5, tf.mean(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(logVar, 1))));
      return tf.add(recon(z), tf.mul(s.betaKl, kl)) as tf.Scalar;
    }
    const { zq } = this.quantise(h);
    const straight = tf.add(h, stopGradient(tf.sub(zq, h))) as tf.Tensor3D;
    const codebookLoss = tf.mean(tf.square(tf.sub(stopGradient(h), zq)));
    const commit = tf.mean(tf.square(tf.sub(h, stopGradient(zq))));
    return tf.addN([recon(straight), codebookLoss, tf.mul(s.betaCommit, commit)]) as tf.Scalar;
  }
}

/** A tokenizer of each kind, initialised by seed (untrained). */
export function tokenizers(s: TokenizerSettings, layout: TokenLayout, seed: number): Map<TokenizerKind, Tokenizer> {
  return new Map((['sigma-vae', 'vae', 'vq'] as const).map((kind) => [kind, new Tokenizer(kind, s, layout, new Params(seed))]));
}

/** Train a tokenizer on n training rows [n, layout.width] in [0, 1]; returns its final loss. */
export function trainTokenizer(tok: Tokenizer, rows: Float32Array, n: number, seed: number): Promise<number> {
  const s = tok.s;
  return fit(tok.params.vars, s.steps, s.lr, (step) => {
    const x = gatherRows(rows, tok.layout.width, seededIndices(n, s.batch, seed * 7919 + step));
    return tok.loss(x, seed * 100003 + step);
  });
}

/** The tokenizers' parameters by kind, as cachedParts takes them. */
export const tokenizerParts = (toks: Map<TokenizerKind, Tokenizer>): Record<string, Params> => Object.fromEntries([...toks].map(([k, t]) => [k, t.params]));

/**
 * Latent statistics on images x: the per-dimension variance of mu across samples (averaged over
 * dimensions) and, for the VAE, the mean posterior variance s^2. A collapsed VAE has Var(mu) -> 0 on most
 * dimensions (the decoder ignores them); the fraction of dimensions with Var(mu) < 0.01 is the collapse.
 */
export async function latentStats(tok: Tokenizer, x: tf.Tensor2D): Promise<{ muVariance: number; collapsed: number; posteriorVariance: number | null }> {
  const [muVar, post] = tf.tidy(() => {
    const h = tok.enc.apply(tok.layout.split(x)) as tf.Tensor3D;
    const c = tok.s.latent;
    const mu = h.slice([0, 0, 0], [-1, -1, c]).reshape([-1, c]);
    const v = tf.moments(mu, 0).variance;
    const p = tok.kind === 'vae' ? tf.mean(tf.exp(h.slice([0, 0, c], [-1, -1, c]))) : tf.scalar(NaN);
    return [v, p];
  });
  const vars = Array.from(await muVar.data());
  const postVar = (await post.data())[0]!;
  muVar.dispose(); post.dispose();
  return {
    muVariance: vars.reduce((a, b) => a + b, 0) / vars.length,
    collapsed: vars.filter((v) => v < 0.01).length / vars.length,
    posteriorVariance: Number.isNaN(postVar) ? null : postVar,
  };
}
