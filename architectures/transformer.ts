// Transformer baseline (RoPE): pre-RMSNorm, causal softmax attention, SwiGLU FFN, no biases.
//   Attn(X) = softmax(R(Q) R(K)^T / sqrt(Dh) + M) V,  Q = X W_q, K = X W_k, V = X W_v
// R is the interleaved rotary embedding; M the causal mask (optionally a sliding window of `window` keys).
import * as tf from '@tensorflow/tfjs';
import { appendKV, attentionFlops, causalAttend } from './attention.ts';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { RotationCache, addLinear, linear, ropeAngles } from './layers.ts';
import { attend, mergeHeads, splitHeads } from './ops/attention/index.ts';
import { matMul } from './ops/matmul/index.ts';
import { registerArchitecture } from './registry.ts';
import { StackedLM, type Mixer, type MixerFactory } from './stack.ts';
import { kvStructured, withStructuredPrompting } from './structured.ts';

export const ropeAttention: MixerFactory = (p, prefix, _layer, cfg) => {
  const { d, heads } = cfg;
  const dh = d / heads;
  const window = Number(cfg.mixer.window ?? 0);
  const wQkv = addLinear(p, `${prefix}.qkv`, d, 3 * d);
  const wO = addLinear(p, `${prefix}.out`, d, d, 0.02 / Math.sqrt(2 * cfg.layers));
  const rope = new RotationCache(ropeAngles(dh));
  const scale = 1 / Math.sqrt(dh);

  // x [B,T,D] at absolute start -> rotated q, k and v, each [B,H,T,Dh]
  const project = (x: tf.Tensor3D, start: number) => {
    const [q, k, v] = tf.split(linear(x, wQkv), 3, -1);
    return { q: rope.rotate(splitHeads(q!, heads), start), k: rope.rotate(splitHeads(k!, heads), start), v: splitHeads(v!, heads) };
  };
  const out = (o: tf.Tensor) => linear(mergeHeads(o), wO) as tf.Tensor3D;

  const mixer: Mixer = {
    forward(x) {
      const { q, k, v } = project(x, 0);
      return out(causalAttend(q, k, v, scale, window));
    },
    prefill(x) {
      const { q, k, v } = project(x, 0);
      const t = x.shape[1];
      const keep = window > 0 && t > window ? window : t;
      return {
        y: out(causalAttend(q, k, v, scale, window)),
        state: { k: k.slice([0, 0, t - keep, 0], [-1, -1, keep, -1]), v: v.slice([0, 0, t - keep, 0], [-1, -1, keep, -1]) },
      };
    },
    step(x, state, pos) {
      const { q, k, v } = project(x, pos);
      const kv = appendKV(state, k, v, window);
      return { y: out(causalAttend(q, kv.k, kv.v, scale)), state: kv };
    },
    mixFlopsPerToken: (seq) => attentionFlops(window > 0 ? Math.min(seq, window) : seq, d),
    // structured prompting (architectures/structured.ts); not with a sliding window
    ...(window > 0 ? {} : { structured: kvStructured(project, (q, k, v, mask) => out(attend(q, k, v, scale, mask))) }),
  };
  // pre-softmax logits [B,H,T,T] (attention resolution; see withAttentionScores)
  return Object.assign(mixer, {
    scores: (x: tf.Tensor3D) => {
      const { q, k } = project(x, 0);
      return tf.mul(matMul(q, k, false, true), scale) as tf.Tensor4D;
    },
  });
};

/** A mixer that exposes its pre-softmax attention logits [B,H,T,T] for x [B,T,D] (already normalised). */
export type ScoringMixer = Mixer & { scores(x: tf.Tensor3D): tf.Tensor4D };

/**
 * Give a StackedLM the optional LanguageModel.attentionScores when every layer's mixer has `scores`
 * (runs the blocks below `layer` as forwardLong does, then that layer's scores). Any StackedLM-based
 * architecture can use it.
 */
export function withAttentionScores<M extends StackedLM>(lm: M): M {
  if (!lm.blocks.every((b) => typeof (b.mixer as Partial<ScoringMixer>).scores === 'function')) return lm;
  return Object.assign(lm, {
    attentionScores: (tokens: tf.Tensor2D, layer: number): tf.Tensor4D => tf.tidy(() => {
      let x = lm.io.embed(tokens);
      for (let l = 0; l < layer; l++) x = lm.blocks[l]!.forward(x, true); // the long-context convention, where there is one
      const b = lm.blocks[layer]!;
      return (b.mixer as ScoringMixer).scores(b.mixIn(x));
    }),
  });
}

export const transformer: ArchitectureSpec = {
  name: 'transformer',
  description: 'RoPE Transformer baseline: softmax attention, KV cache per layer',
  paper: 'baseline',
  configure: (size, overrides = {}): ModelConfig => ({
    arch: 'transformer', ...size, ffn: defaultFfn(size.d), mixer: { window: 0, ...overrides },
  }),
  build: (cfg, params) => Object.assign(withAttentionScores(withStructuredPrompting(new StackedLM(cfg, params, ropeAttention, { attentionMaps: true }))), {
    analyticStateBytes: (context: number, batch: number) => kvCacheBytes(cfg, cfg.layers, context, batch),
  }),
};

/**
 * Bytes of `kvLayers` layers of float32 K and V caches after `context` tokens: kvLayers x 2 x T x d_kv x 4 x B,
 * with d_kv = heads x (d / heads) and T capped at the sliding window when there is one.
 */
export function kvCacheBytes(cfg: ModelConfig, kvLayers: number, context: number, batch: number): { bytes: number; formula: string } {
  const window = Number(cfg.mixer.window ?? 0);
  const t = window > 0 ? Math.min(context, window) : context;
  const dKv = cfg.heads * (cfg.d / cfg.heads);
  return {
    bytes: kvLayers * 2 * t * dKv * 4 * batch,
    formula: `layers ${kvLayers} x 2 (K,V) x T ${t}${window > 0 ? ` (window ${window})` : ''} x d_kv ${dKv} x 4 B x batch ${batch}`,
  };
}

/** SwiGLU width 8/3 d rounded up to a multiple of 16 (the peer script's rule). */
export function defaultFfn(d: number): number {
  return Math.ceil((8 * d) / 3 / 16) * 16;
}

registerArchitecture(transformer);
