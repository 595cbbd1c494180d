// Latent generation with any registered architecture as the causal backbone (LanguageModel.forwardHidden).
// An image is N latent vectors z_1..z_N (its patches, from a frozen tokenizer) after a class prefix:
//   inputs  x = [e_class, W_in z_1, ..., W_in z_{N-1}]          [B, N, D]
//   hidden  h = backbone.forwardHidden(x)                        [B, N, D]; h_k conditions z_{k+1}
//   'diffusion' (LatentLM): a DiffusionHead denoises z_{k+1} given h_k; classifier-free guidance at sampling.
//   'vq' (discrete baseline): z_k are VQ codes, x uses a code embedding, logits = h W_out, cross-entropy.
// The class is dropped to a null class with probability cfgDrop in training (so the model is also unconditional).
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { Params, addLinear, linear } from '../../architectures/layers.ts';
import { releaseBindGroups } from '../../harness/webgpu.ts';
import { DiffusionHead } from './diffusion.ts';
import { seededRandom } from './glyphs.ts';
import { lookupRows, tfSeed } from './nets.ts';
import type { Tokenizer } from './tokenizers.ts';

export type Method = 'diffusion' | 'vq';

export interface GeneratorSettings {
  headWidth: number;
  headBlocks: number;
  /** Noise draws per target in the diffusion loss. */
  repeats: number;
  cfgDrop: number;
}

export class LatentGenerator {
  readonly params: Params;
  private readonly classEmbed: tf.Variable;
  private readonly inProj: tf.Variable;
  private readonly outProj?: tf.Variable;
  readonly head?: DiffusionHead;
  readonly nullClass: number;

  constructor(readonly lm: LanguageModel, readonly method: Method, readonly tok: Tokenizer, classes: number, readonly s: GeneratorSettings, seed: number) {
    if (!lm.forwardHidden || !lm.capabilities.continuousInput) throw new Error(`latent: architecture ${lm.config.arch} does not declare continuousInput (forwardHidden)`);
    const d = lm.config.d, c = tok.s.latent;
    this.params = new Params(seed + 1000);
    this.nullClass = classes;
    this.classEmbed = this.params.add('gen.class', [classes + 1, d], { kind: 'normal', std: 0.02 });
    if (method === 'diffusion') {
      this.inProj = addLinear(this.params, 'gen.in', c, d, 1 / Math.sqrt(c));
      this.head = new DiffusionHead(this.params, 'gen.head', { latent: c, cond: d, width: s.headWidth, blocks: s.headBlocks });
    } else {
      this.inProj = this.params.add('gen.codes', [tok.s.codes, d], { kind: 'normal', std: 0.02 });
      this.outProj = addLinear(this.params, 'gen.logits', d, tok.s.codes);
    }
  }

  /** Everything training updates, by name: the backbone's variables (lm/...) and the generator's own (gen/...). */
  variables(): Map<string, tf.Variable> {
    const named = (prefix: string, vars: ReadonlyMap<string, tf.Variable>) => [...vars].map(([n, v]): [string, tf.Variable] => [`${prefix}/${n}`, v]);
    return new Map([...named('lm', this.lm.params.vars), ...named('gen', this.params.vars)]);
  }

  /** The backbone's hidden states for targets (latents [B, N, c] or codes [B, N]) after class labels [B]. */
  private hidden(targets: tf.Tensor, labels: tf.Tensor1D): tf.Tensor3D {
    const n = targets.shape[1]!;
    const prefix = lookupRows(this.classEmbed, labels.reshape([-1, 1]));
    const given = targets.slice(0, targets.shape.length === 3 ? [-1, n - 1, -1] : [-1, n - 1]);
    const body = this.method === 'diffusion' ? linear(given, this.inProj) : lookupRows(this.inProj, given);
    return this.lm.forwardHidden!(tf.concat([prefix, body], 1) as tf.Tensor3D);
  }

  /** Training loss on images [B, S*S] with labels [B] (the tokenizer is frozen). */
  loss(images: tf.Tensor2D, labels: number[], seed: number): tf.Scalar {
    const rand = seededRandom(seed);
    const dropped = tf.tensor1d(labels.map((l) => (rand() < this.s.cfgDrop ? this.nullClass : l)), 'int32');
    if (this.method === 'diffusion') {
      const z = this.tok.encode(images); // [B, N, c], no gradient into the tokenizer (not in variables())
      const h = this.hidden(z, dropped);
      const [b, n, c] = z.shape;
      return this.head!.loss(z.reshape([b * n, c]), h.reshape([b * n, -1]) as tf.Tensor2D, seed, this.s.repeats);
    }
    const codes = this.tok.codes(images);
    const logits = linear(this.hidden(codes, dropped), this.outProj!);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(codes.flatten(), this.tok.s.codes), logits.reshape([-1, this.tok.s.codes])) as tf.Scalar;
  }

  /**
   * Generate images [n, S*S] for labels (the null class for class-blind samples), position by position.
   * Diffusion: `steps` DDPM steps per vector, guidance w (1 = no guidance). VQ: codes sampled from the softmax.
   */
  async generate(labels: number[], steps: number, guidance: number, seed: number): Promise<tf.Tensor2D> {
    const n = labels.length, N = this.tok.tokens;
    const cond = tf.tensor1d(labels, 'int32');
    const uncond = tf.fill([n], this.nullClass, 'int32') as tf.Tensor1D;
    const guided = this.method === 'diffusion' && guidance !== 1 && labels.some((l) => l !== this.nullClass);
    // the vectors (or codes) generated so far, [n, k, c] ([n, k] for VQ); null before the first, so that no
    // zero-size tensor is made (webgpu refuses to slice one, and Dawn on lavapipe crashed on them)
    let out: tf.Tensor | null = null;
    const rest = this.method === 'diffusion' ? [this.tok.s.latent] : [];
    const dtype = this.method === 'diffusion' ? 'float32' : 'int32';
    for (let k = 0; k < N; k++) {
      const next = tf.tidy(() => {
        // the prefix with one zero position appended: [n, k+1, ...]
        const zero = tf.zeros([n, 1, ...rest], dtype);
        const input = out ? tf.concat([out, zero], 1) : zero;
        // position k's hidden state [n, D]; guided, the conditional and the null-class ones in one call on 2n rows
        const h = this.hidden(guided ? tf.concat([input, input]) : input, guided ? tf.concat([cond, uncond]) : cond);
        const hk = h.slice([0, k, 0], [-1, 1, -1]).reshape([h.shape[0], -1]) as tf.Tensor2D;
        if (this.method === 'vq') return tf.multinomial(linear(hk, this.outProj!) as tf.Tensor2D, 1, tfSeed(seed + k)).toInt().reshape([n, 1]);
        const [hc, hu] = guided ? tf.split(hk, 2, 0) as tf.Tensor2D[] : [hk];
        return this.head!.sample(hc!, steps, seed + 7919 * k, hu && { uncond: hu, w: guidance }).reshape([n, 1, -1]);
      });
      if (out) {
        const grown: tf.Tensor = tf.concat([out, next], 1);
        out.dispose(); next.dispose();
        out = grown;
      } else out = next;
      await releaseBindGroups(); // each position is hundreds of small ops (harness/webgpu.ts)
    }
    const done = out!;
    const images = tf.tidy(() => this.tok.decode(this.method === 'vq' ? this.tok.lookup(done as tf.Tensor2D) : (done as tf.Tensor3D)));
    done.dispose(); cond.dispose(); uncond.dispose();
    return images;
  }
}
