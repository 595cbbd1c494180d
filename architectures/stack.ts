// The shared decoder: embedding -> L x [x + mixer(norm(x)); x + ffn(norm(x))] -> norm -> head.
// Architectures supply only the sequence mixer (torchscale style).
import * as tf from '@tensorflow/tfjs';
import type { ActivationProbe, Capabilities, DecodeState, LanguageModel, LayerActivations, LayerState, ModelConfig } from './interface.ts';
import { Params, addLinear, linear, swiglu } from './layers.ts';
import { embed } from './ops/embedding/index.ts';
import { rmsNorm } from './ops/norm/index.ts';

export const NORM_EPS = 1e-6;

/** A sequence mixer: the only part that differs between architectures. x is already normalised. */
export interface Mixer {
  /** Parallel form: [B, T, D] -> [B, T, D]. */
  forward(x: tf.Tensor3D): tf.Tensor3D;
  /** Prompt -> output and this layer's cache. */
  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; state: LayerState };
  /** x [B, 1, D] at absolute position pos -> output and next cache. */
  step(x: tf.Tensor3D, state: LayerState, pos: number): { y: tf.Tensor3D; state: LayerState };
  /** Forward-pass FLOPs per token of the mixing itself (not projections), at context T. */
  mixFlopsPerToken(seq: number): number;
  /** Optional long-context forward (e.g. blockwise attention). Defaults to forward. */
  forwardLong?(x: tf.Tensor3D): tf.Tensor3D;
  /** Optional structured-prompting hooks (architectures/structured.ts); a model offers structured prompting only when every layer has them. */
  structured?: StructuredMixer;
  /** Optional pre-softmax attention logits [B,H,T,T] for x [B,T,D] (already normalised), as forward computes them. */
  scores?(x: tf.Tensor3D): tf.Tensor4D;
}

/**
 * A mixer's part in structured prompting (Hao et al. 2022). Groups are encoded independently at given
 * absolute positions; their caches are merged; test tokens attend to the merged groups (all visible) and
 * causally to themselves, with `ownBias` (ln M) added to the logits of their own keys.
 */
export interface StructuredMixer {
  /** Encode one group x [B,T,D] at absolute positions start..start+T-1, causal within the group. */
  encodeAt(x: tf.Tensor3D, start: number): { y: tf.Tensor3D; state: LayerState };
  /** Merge the groups' caches into one context (e.g. concatenated keys and values). */
  merge(states: LayerState[]): LayerState;
  /** Test tokens x [B,T,D] at absolute start pos, given the merged context or a previous extend's state. */
  extend(x: tf.Tensor3D, state: LayerState, pos: number, ownBias: number): { y: tf.Tensor3D; state: LayerState };
}

export type MixerFactory = (p: Params, prefix: string, layer: number, cfg: ModelConfig) => Mixer;

/** Pre-norm residual block with a SwiGLU FFN around any mixer. */
export class Block {
  readonly norm1: tf.Variable;
  readonly norm2: tf.Variable;
  readonly wGateUp: tf.Variable;
  readonly wDown: tf.Variable;
  constructor(p: Params, prefix: string, cfg: ModelConfig, readonly mixer: Mixer) {
    this.norm1 = p.add(`${prefix}.norm1`, [cfg.d], { kind: 'ones' });
    this.norm2 = p.add(`${prefix}.norm2`, [cfg.d], { kind: 'ones' });
    this.wGateUp = addLinear(p, `${prefix}.ffn.gate_up`, cfg.d, 2 * cfg.ffn);
    this.wDown = addLinear(p, `${prefix}.ffn.down`, cfg.ffn, cfg.d, 0.02 / Math.sqrt(2 * cfg.layers));
  }
  ffn(h: tf.Tensor3D): tf.Tensor3D {
    return tf.add(h, swiglu(rmsNorm(h, this.norm2, NORM_EPS), this.wGateUp, this.wDown)) as tf.Tensor3D;
  }
  mixIn(x: tf.Tensor3D): tf.Tensor3D {
    return rmsNorm(x, this.norm1, NORM_EPS) as tf.Tensor3D;
  }
  forward(x: tf.Tensor3D, long = false): tf.Tensor3D {
    return this.forwardParts(x, long).y;
  }
  /** forward, with the mixer's input n (normalised x) and output m: y = ffn(x + m), m = mixer(n). */
  forwardParts(x: tf.Tensor3D, long = false): { y: tf.Tensor3D; n: tf.Tensor3D; m: tf.Tensor3D } {
    const n = this.mixIn(x);
    const m = long && this.mixer.forwardLong ? this.mixer.forwardLong(n) : this.mixer.forward(n);
    return { y: this.ffn(tf.add(x, m) as tf.Tensor3D), n, m };
  }
  prefill(x: tf.Tensor3D): { y: tf.Tensor3D; state: LayerState } {
    const { y, state } = this.mixer.prefill(this.mixIn(x));
    return { y: this.ffn(tf.add(x, y) as tf.Tensor3D), state };
  }
  step(x: tf.Tensor3D, state: LayerState, pos: number): { y: tf.Tensor3D; state: LayerState } {
    const r = this.mixer.step(this.mixIn(x), state, pos);
    return { y: this.ffn(tf.add(x, r.y) as tf.Tensor3D), state: r.state };
  }
}

/** Embedding table and output head with final norm: shared by every architecture. */
export class EmbeddingAndHead {
  readonly table: tf.Variable;
  readonly normF: tf.Variable;
  readonly head: tf.Variable;
  constructor(p: Params, cfg: ModelConfig) {
    this.table = p.add('embed', [cfg.vocab, cfg.d], { kind: 'normal', std: 0.02 }, { embedding: true, lookup: true });
    this.normF = p.add('norm_f', [cfg.d], { kind: 'ones' });
    this.head = p.add('head', [cfg.d, cfg.vocab], { kind: 'normal', std: 0.02 }, { embedding: true });
  }
  embed(tokens: tf.Tensor): tf.Tensor3D {
    return embed(this.table as tf.Tensor2D, tokens) as tf.Tensor3D;
  }
  /** The final norm: what the head reads (and LanguageModel.forwardHidden returns). */
  hidden(x: tf.Tensor3D): tf.Tensor3D {
    return rmsNorm(x, this.normF, NORM_EPS) as tf.Tensor3D;
  }
  logits(x: tf.Tensor3D): tf.Tensor3D {
    return linear(this.hidden(x), this.head) as tf.Tensor3D;
  }
}

/**
 * Blocks over x [B,T,D] as the parallel forward runs them, each output passed through `transform` (layer
 * numbered from `first`) before the next block reads it, and each layer's activations handed to `seen`.
 */
export function probedBlocks(blocks: Block[], x: tf.Tensor3D, first: number, opts: ProbeOptions): tf.Tensor3D {
  blocks.forEach((b, i) => {
    const { y, n, m } = b.forwardParts(x);
    x = opts.transform ? opts.transform(y, first + i) : y;
    opts.seen?.({ hidden: x, mixer: m, logits: b.mixer.scores ? b.mixer.scores(n) : null });
  });
  return x;
}

export interface ProbeOptions {
  transform?: (hidden: tf.Tensor3D, layer: number) => tf.Tensor3D;
  seen?: (a: LayerActivations) => void;
}

/** The ActivationProbe of a model whose parallel forward is `run(tokens, opts)` (final hidden state) then `logits`. */
export function activationProbe(run: (tokens: tf.Tensor2D, opts: ProbeOptions) => tf.Tensor3D, logits: (x: tf.Tensor3D) => tf.Tensor3D): ActivationProbe {
  return {
    layers(tokens) {
      const out: LayerActivations[] = [];
      run(tokens, { seen: (a) => out.push(a) });
      return out;
    },
    forward: (tokens, transform) => logits(run(tokens, { transform })),
  };
}

/** FLOPs per token, forward + backward: 6 per weight (non-embedding and head) + 3x the mixing. */
export function trainingFlops(params: Params, cfg: ModelConfig, mixFlopsPerToken: number): number {
  return 6 * params.count().nonEmbedding + 6 * cfg.d * cfg.vocab + 3 * mixFlopsPerToken;
}

/** A decoder made of identical blocks, differing only in the mixer. */
export class StackedLM implements LanguageModel {
  readonly io: EmbeddingAndHead;
  readonly blocks: Block[];
  readonly longConvention?: string;
  readonly forwardLong?: (tokens: tf.Tensor2D) => tf.Tensor3D;
  readonly capabilities: Capabilities;
  readonly activations: ActivationProbe;

  constructor(readonly config: ModelConfig, readonly params: Params, mixer: MixerFactory,
              capabilities: Capabilities, longConvention?: string) {
    this.capabilities = { ...capabilities, activations: true, continuousInput: true };
    this.activations = activationProbe((tokens, opts) => probedBlocks(this.blocks, this.io.embed(tokens), 0, opts), (x) => this.io.logits(x));
    this.io = new EmbeddingAndHead(this.params, config);
    this.blocks = [];
    for (let l = 0; l < config.layers; l++) {
      const prefix = `layers.${l}`;
      this.blocks.push(new Block(this.params, prefix, config, mixer(this.params, `${prefix}.mix`, l, config)));
    }
    if (longConvention) {
      this.longConvention = longConvention;
      this.forwardLong = (tokens) => this.run(tokens, true);
    }
  }

  private blocksForward(x: tf.Tensor3D, long: boolean): tf.Tensor3D {
    for (const b of this.blocks) x = b.forward(x, long);
    return x;
  }

  private run(tokens: tf.Tensor2D, long: boolean): tf.Tensor3D {
    return this.io.logits(this.blocksForward(this.io.embed(tokens), long));
  }

  /** Continuous input: embeddings [B, T, D] -> final-normed hidden [B, T, D]. */
  forwardHidden(x: tf.Tensor3D): tf.Tensor3D {
    return this.io.hidden(this.blocksForward(x, false));
  }

  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    return this.run(tokens, false);
  }

  prefill(tokens: tf.Tensor2D, opts: { allLogits?: boolean } = {}): { logits: tf.Tensor3D; state: DecodeState } {
    let x = this.io.embed(tokens);
    const layers: LayerState[] = [];
    for (const b of this.blocks) {
      const r = b.prefill(x);
      x = r.y;
      layers.push(r.state);
    }
    const t = x.shape[1];
    const last = opts.allLogits ? x : (x.slice([0, t - 1, 0], [-1, 1, -1]) as tf.Tensor3D);
    return { logits: this.io.logits(last), state: { pos: t, layers } };
  }

  step(state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState } {
    let x = this.io.embed(token.reshape([-1, 1]));
    const layers: LayerState[] = [];
    this.blocks.forEach((b, l) => {
      const r = b.step(x, state.layers[l]!, state.pos);
      x = r.y;
      layers.push(r.state);
    });
    return { logits: this.io.logits(x).squeeze([1]) as tf.Tensor2D, state: { pos: state.pos + 1, layers } };
  }

  flopsPerToken(seq: number): number {
    const mix = this.blocks.reduce((s, b) => s + b.mixer.mixFlopsPerToken(seq), 0);
    return trainingFlops(this.params, this.config, mix);
  }
}
