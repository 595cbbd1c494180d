// Transformer baseline (RoPE): pre-RMSNorm, causal softmax attention, SwiGLU FFN, no biases.
//   Attn(X) = softmax(R(Q) R(K)^T / sqrt(Dh) + M) V,  Q = X W_q, K = X W_k, V = X W_v
// R is the interleaved rotary embedding; M the causal mask (optionally a sliding window of `window` keys).
import * as tf from '@tensorflow/tfjs';
import { appendKV, attentionFlops, causalAttend } from './attention.ts';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { RotationCache, addLinear, linear, mergeHeads, ropeAngles, splitHeads } from './layers.ts';
import { registerArchitecture } from './registry.ts';
import { StackedLM, type Mixer, type MixerFactory } from './stack.ts';

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
  };
  return mixer;
};

export const transformer: ArchitectureSpec = {
  name: 'transformer',
  description: 'RoPE Transformer baseline: softmax attention, KV cache per layer',
  paper: 'baseline',
  configure: (size, overrides = {}): ModelConfig => ({
    arch: 'transformer', ...size, ffn: defaultFfn(size.d), mixer: { window: 0, ...overrides },
  }),
  build: (cfg, params) => new StackedLM(cfg, params, ropeAttention, { attentionMaps: true }),
};

/** SwiGLU width 8/3 d rounded up to a multiple of 16 (the peer script's rule). */
export function defaultFfn(d: number): number {
  return Math.ceil((8 * d) / 3 / 16) * 16;
}

registerArchitecture(transformer);
