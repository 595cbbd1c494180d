// Next-token diffusion (LatentLM): a small MLP head, conditioned on the backbone's hidden state h by
// adaptive layer norm, predicts the noise added to the next latent vector. DDPM on a continuous-time
// cosine schedule:  abar(t) = cos^2(((t + s)/(1 + s)) pi/2) / cos^2((s/(1 + s)) pi/2),  t in [0, 1];
//   train:  z_t = sqrt(abar) z_0 + sqrt(1 - abar) eps,  loss = ||eps - eps_theta(z_t, t, h)||^2;
//   sample: S steps t_S = 1 > ... > t_0 = 0, alpha_i = abar_i / abar_{i-1}, beta_i = 1 - alpha_i,
//           z_{i-1} = (z_i - beta_i / sqrt(1 - abar_i) eps_theta) / sqrt(alpha_i) + sigma_i n,
//           sigma_i^2 = beta_i (1 - abar_{i-1}) / (1 - abar_i).
// Classifier-free guidance: eps = eps_u + w (eps_c - eps_u), the two from the conditional and the
// unconditional (null-class) hidden states.
import * as tf from '@tensorflow/tfjs';
import { Params, addLinear, linear } from '../../architectures/layers.ts';
import { tfSeed } from './nets.ts';

const COSINE_S = 0.008;
const MIN_ABAR = 1e-4;

export function alphaBar(t: number): number {
  const f = (u: number) => Math.cos(((u + COSINE_S) / (1 + COSINE_S)) * (Math.PI / 2)) ** 2;
  return Math.min(1, Math.max(MIN_ABAR, f(t) / f(0)));
}

export interface HeadSettings {
  /** Latent width c, condition width D, head width, residual AdaLN blocks. */
  latent: number;
  cond: number;
  width: number;
  blocks: number;
}

/** eps_theta(z_t, t, h): [n, c], [n], [n, D] -> [n, c]. */
export class DiffusionHead {
  private readonly wIn: tf.Variable;
  private readonly wTime: tf.Variable;
  private readonly wCond: tf.Variable;
  private readonly blocks: { ada: tf.Variable; adaB: tf.Variable; w1: tf.Variable; b1: tf.Variable; w2: tf.Variable }[] = [];
  private readonly adaOut: tf.Variable;
  private readonly wOut: tf.Variable;
  constructor(private readonly p: Params, prefix: string, readonly s: HeadSettings) {
    const w = s.width;
    this.wIn = addLinear(p, `${prefix}.in`, s.latent, w, 1 / Math.sqrt(s.latent));
    this.wTime = addLinear(p, `${prefix}.time`, 2 * TIME_FREQS, w, 1 / Math.sqrt(2 * TIME_FREQS));
    this.wCond = addLinear(p, `${prefix}.cond`, s.cond, w, 1 / Math.sqrt(s.cond));
    for (let i = 0; i < s.blocks; i++) {
      this.blocks.push({
        ada: p.add(`${prefix}.${i}.ada`, [w, 3 * w], { kind: 'zeros' }), // shift, scale, gate: zero-init (adaLN-Zero)
        adaB: p.add(`${prefix}.${i}.ada_b`, [3 * w], { kind: 'zeros' }),
        w1: addLinear(p, `${prefix}.${i}.w1`, w, w, 1 / Math.sqrt(w)),
        b1: p.add(`${prefix}.${i}.b1`, [w], { kind: 'zeros' }),
        w2: addLinear(p, `${prefix}.${i}.w2`, w, w, 1 / Math.sqrt(w)),
      });
    }
    this.adaOut = p.add(`${prefix}.ada_out`, [w, 2 * w], { kind: 'zeros' });
    this.wOut = addLinear(p, `${prefix}.out`, w, s.latent, 1 / Math.sqrt(w));
  }

  /** Its variables (the head is trained beside the backbone). */
  params(): Map<string, tf.Variable> {
    return this.p.vars;
  }

  /** The condition's projection h W_cond: [n, D] -> [n, w]; made once per condition, not per noise draw or step. */
  project(h: tf.Tensor2D): tf.Tensor2D {
    return linear(h, this.wCond) as tf.Tensor2D;
  }

  /**
   * eps_theta(z_t, t, h) from hc = project(h) [n, w]: z_t [R*n, c] and t [R*n] are R groups of n rows, group
   * r's row i under condition i (hc is broadcast over the groups, not tiled: its gradient is one sum).
   */
  predict(zt: tf.Tensor2D, t: tf.Tensor1D, hc: tf.Tensor2D): tf.Tensor2D {
    const m = zt.shape[0], [n, w] = hc.shape;
    const time = linear(timeFeatures(t), this.wTime); // [R*n, w]
    const c = silu(m === n ? tf.add(time, hc) : tf.add(time.reshape([m / n, n, w]), hc).reshape([m, w])); // [R*n, w]
    let x = linear(zt, this.wIn); // [R*n, w]
    for (const b of this.blocks) {
      const [shift, scale, gate] = tf.split(tf.add(linear(c, b.ada), b.adaB), 3, -1);
      const y = tf.add(tf.mul(layerNorm(x), tf.add(1, scale!)), shift!);
      x = tf.add(x, tf.mul(gate!, linear(silu(tf.add(linear(y, b.w1), b.b1)), b.w2)));
    }
    const [shift, scale] = tf.split(linear(c, this.adaOut), 2, -1);
    return linear(tf.add(tf.mul(layerNorm(x), tf.add(1, scale!)), shift!), this.wOut) as tf.Tensor2D;
  }

  /** DDPM loss on targets z0 [n, c] under conditions h [n, D], `repeats` noise draws per target. */
  loss(z0: tf.Tensor2D, h: tf.Tensor2D, seed: number, repeats: number): tf.Scalar {
    const z = tf.tile(z0, [repeats, 1]) as tf.Tensor2D; // [R*n, c]: no gradient flows into the targets
    const n = z.shape[0];
    const t = tf.randomUniform([n], 0, 1, 'float32', tfSeed(seed)) as tf.Tensor1D;
    const abar = alphaBarTensor(t).reshape([n, 1]);
    const eps = tf.randomNormal(z.shape, 0, 1, 'float32', tfSeed(seed + 1));
    const zt = tf.add(tf.mul(tf.sqrt(abar), z), tf.mul(tf.sqrt(tf.sub(1, abar)), eps)) as tf.Tensor2D;
    return tf.mean(tf.square(tf.sub(this.predict(zt, t, this.project(h)), eps))) as tf.Scalar;
  }

  /**
   * Sample z_0 [n, c] given conditions h [n, D] in `steps` DDPM steps; with `uncond` (the null-class
   * conditions, [n, D]) and guidance w, classifier-free guidance: both predictions in one call on 2n rows.
   */
  sample(h: tf.Tensor2D, steps: number, seed: number, guide?: { uncond: tf.Tensor2D; w: number }): tf.Tensor2D {
    return tf.tidy(() => {
      const n = h.shape[0];
      const hc = this.project(guide ? (tf.concat([h, guide.uncond]) as tf.Tensor2D) : h); // [n or 2n, w]
      const rows = hc.shape[0];
      let z = tf.randomNormal([n, this.s.latent], 0, 1, 'float32', tfSeed(seed)) as tf.Tensor2D;
      for (let i = steps; i >= 1; i--) {
        const ab = alphaBar(i / steps), abPrev = alphaBar((i - 1) / steps);
        const alpha = ab / abPrev, beta = 1 - alpha;
        const t = tf.fill([rows], i / steps) as tf.Tensor1D;
        let eps = this.predict(guide ? (tf.concat([z, z]) as tf.Tensor2D) : z, t, hc);
        if (guide) {
          const [epsC, epsU] = tf.split(eps, 2, 0);
          eps = tf.add(epsU!, tf.mul(guide.w, tf.sub(epsC!, epsU!))) as tf.Tensor2D;
        }
        const mean = tf.div(tf.sub(z, tf.mul(beta / Math.sqrt(1 - ab), eps)), Math.sqrt(alpha));
        const sigma = i > 1 ? Math.sqrt((beta * (1 - abPrev)) / (1 - ab)) : 0;
        z = (sigma > 0 ? tf.add(mean, tf.mul(sigma, tf.randomNormal([n, this.s.latent], 0, 1, 'float32', tfSeed(seed + i)))) : mean) as tf.Tensor2D;
      }
      return z;
    });
  }
}

const TIME_FREQS = 8;

/** Sinusoidal features of t in [0, 1]: [n] -> [n, 2F]. */
function timeFeatures(t: tf.Tensor1D): tf.Tensor2D {
  const freqs = tf.tensor1d(Array.from({ length: TIME_FREQS }, (_, k) => Math.PI * 2 ** k));
  const a = tf.mul(t.reshape([-1, 1]), freqs.reshape([1, -1]));
  return tf.concat([tf.sin(a), tf.cos(a)], 1) as tf.Tensor2D;
}

function alphaBarTensor(t: tf.Tensor1D): tf.Tensor1D {
  const f = (u: tf.Tensor) => tf.square(tf.cos(tf.mul(tf.div(tf.add(u, COSINE_S), 1 + COSINE_S), Math.PI / 2)));
  return tf.clipByValue(tf.div(f(t), f(tf.scalar(0))), MIN_ABAR, 1) as tf.Tensor1D;
}

const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** Layer norm without gain (AdaLN supplies scale and shift). */
function layerNorm(x: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6)));
}
