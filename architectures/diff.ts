// Differential Transformer (Ye et al. 2024): attention as the difference of two softmax maps.
//   [Q1; Q2] = X W_Q,  [K1; K2] = X W_K,  V = X W_V
//   DiffAttn(X) = (softmax(Q1 K1^T / sqrt(d)) - λ softmax(Q2 K2^T / sqrt(d))) V
//   λ = exp(λ_q1 · λ_k1) - exp(λ_q2 · λ_k2) + λ_init,  λ_init = 0.8 - 0.6 exp(-0.3 depth)
//   head_h = (1 - λ_init) RMSNorm(DiffAttn_h(X)),  MultiHead(X) = [head_1..head_h] W_O
// As the reference (unilm Diff-Transformer/multihead_diffattn.py): depth is the 0-based layer index;
// `heads` counts differential heads, half the baseline's, each with head dim d = D / heads / 2 per map
// and value dim 2d; interleaved RoPE (YOCO's build_rel_pos angles); grouped KV heads via `kvHeads`
// (repeat_interleave of the 2*kvHeads key maps and kvHeads value heads); subln RMSNorm eps 1e-5 with a
// weight; λ vectors ~ N(0, 0.1). Decoding keeps a KV cache (rotated keys [B,2KVH,S,d], values [B,KVH,S,2d]).
import * as tf from '@tensorflow/tfjs';
import { appendKV } from './attention.ts';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { RotationCache, addLinear, linear } from './layers.ts';
import { attend, attendDifferential, mapDifference, mergeHeads, splitHeads } from './ops/attention/index.ts';
import { rmsNorm } from './ops/norm/index.ts';
import { registerArchitecture } from './registry.ts';
import { StackedLM, type Mixer, type MixerFactory } from './stack.ts';
import { kvStructured, withStructuredPrompting } from './structured.ts';
import { linspaceAngles, numOption, repeatHeads } from './tensor-helpers.ts';
import { defaultFfn } from './transformer.ts';

export const lambdaInit = (depth: number): number => 0.8 - 0.6 * Math.exp(-0.3 * depth);

export const differentialAttention: MixerFactory = (p, prefix, layer, cfg) => {
  const { d, heads } = cfg;
  const kvHeads = numOption(cfg.mixer, 'kvHeads', heads);
  const rep = heads / kvHeads;
  const dh = d / heads / 2;
  if (!Number.isInteger(rep) || !Number.isInteger(dh) || dh % 2) throw new Error(`diff: d=${d}, heads=${heads}, kvHeads=${kvHeads} give no even head dim`);
  const eps = numOption(cfg.mixer, 'normEps', 1e-5);
  const wQkv = addLinear(p, `${prefix}.qkv`, d, d + (2 * d) / rep);
  const wO = addLinear(p, `${prefix}.out`, d, d, 0.02 / Math.sqrt(2 * cfg.layers));
  const [lq1, lk1, lq2, lk2] = ['lambda_q1', 'lambda_k1', 'lambda_q2', 'lambda_k2'].map((n) => p.add(`${prefix}.${n}`, [dh], { kind: 'normal', std: 0.1 }));
  const subln = p.add(`${prefix}.subln`, [2 * dh], { kind: 'ones' });
  const init = lambdaInit(layer);
  const rope = new RotationCache(linspaceAngles(dh, numOption(cfg.mixer, 'ropeTheta', 10000)));

  // x [B,T,D] at absolute start -> q [B,2H,T,d], k [B,2KVH,T,d] (both rotated), v [B,KVH,T,2d]
  const project = (x: tf.Tensor3D, start: number) => {
    const [q, k, v] = tf.split(linear(x, wQkv), [d, d / rep, d / rep], -1);
    return { q: rope.rotate(splitHeads(q!, 2 * heads), start), k: rope.rotate(splitHeads(k!, 2 * kvHeads), start), v: splitHeads(v!, kvHeads) };
  };

  // One query per map (a decode step: every key visible) without repeating the cache: maps i*rep..i*rep+rep-1
  // read key map i and maps 2rep*g..2rep*g+2rep-1 value head g, so q [B,2H,1,d] -> [B,2KVH,rep,d] meets k
  // [B,2KVH,S,d] and the probabilities [B,2KVH,rep,S] -> [B,KVH,2rep,S] meet v [B,KVH,S,2d] as they are.
  // Scores as K q^T (no transposed operand; a 2-D product per head on wasm). -> [B,2H,1,2d]
  const attendOneQuery = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor4D => {
    const [b, , s] = k.shape as number[];
    const qT = q.reshape([b!, 2 * kvHeads, rep, dh]);
    const scores = tf.matMul(k as tf.Tensor4D, rep === 1 ? qT.reshape([b!, 2 * kvHeads, dh, 1]) : qT.transpose([0, 1, 3, 2]) as tf.Tensor4D); // [B,2KVH,S,rep]
    const logits = rep === 1 ? scores.reshape([b!, 2 * kvHeads, 1, s!]) : scores.transpose([0, 1, 3, 2]);
    const p = tf.softmax(tf.mul(logits, dh ** -0.5)).reshape([b!, kvHeads, 2 * rep, s!]);
    return tf.matMul(p as tf.Tensor4D, v as tf.Tensor4D).reshape([b!, 2 * heads, 1, 2 * dh]) as tf.Tensor4D;
  };

  // q [B,2H,T,d] over keys k [B,2KVH,S,d], v [B,KVH,S,2d] (query t sees keys <= t + S - T) -> [B,T,D].
  // (P1 - λ P2) V per head h (maps 2h, 2h+1; map j reading key map j / rep and value head (j / 2) / rep):
  // attendDifferential, both maps in one fused kernel on webgpu, else P1 V - λ P2 V from per-map attention
  // (a decode step's own path for T = 1). `mask` [T, S] replaces the causal mask (structured prompting,
  // architectures/structured.ts)
  const attendDiff = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask?: tf.Tensor2D): tf.Tensor3D => {
    const lambda = tf.add(tf.sub(tf.exp(tf.sum(tf.mul(lq1!, lk1!))), tf.exp(tf.sum(tf.mul(lq2!, lk2!)))), init);
    const o = mask ? mapDifference(attend(q, repeatHeads(k, rep), repeatHeads(v, 2 * rep), dh ** -0.5, mask), lambda)
      : attendDifferential(q, k, v, lambda, dh ** -0.5, q.shape[2] === 1 ? attendOneQuery : undefined); // [B,H,T,2d]
    return linear(mergeHeads(tf.mul(rmsNorm(o, subln, eps), 1 - init)), wO) as tf.Tensor3D;
  };

  const mixer: Mixer = {
    forward(x) {
      const { q, k, v } = project(x, 0);
      return attendDiff(q, k, v);
    },
    prefill(x) {
      const { q, k, v } = project(x, 0);
      return { y: attendDiff(q, k, v), state: { k, v } };
    },
    step(x, state, pos) {
      const { q, k, v } = project(x, pos);
      const kv = appendKV(state, k, v);
      return { y: attendDiff(q, kv.k, kv.v), state: kv };
    },
    // two maps of q k^T over d = D/(2H) each (2 T D) and A V with value dim 2d per head (2 T D)
    mixFlopsPerToken: (seq) => 4 * seq * d,
    structured: kvStructured(project, attendDiff),
    // both maps' pre-softmax logits q k^T / sqrt(d), [B,2H,T,T] (map j reads key map j / rep)
    scores(x) {
      const { q, k } = project(x, 0);
      return tf.mul(tf.matMul(q as tf.Tensor4D, repeatHeads(k, rep), false, true), dh ** -0.5) as tf.Tensor4D;
    },
  };
  return mixer;
};

export const diff: ArchitectureSpec = {
  name: 'diff',
  description: 'Differential Transformer: difference of two softmax maps, lambda reparameterised, half the heads',
  paper: 'Differential Transformer (Ye et al., 2024)',
  configure: (size, overrides = {}): ModelConfig => {
    const heads = Math.max(1, Math.floor(size.heads / 2));
    return { arch: 'diff', ...size, heads, ffn: defaultFfn(size.d), mixer: { kvHeads: heads, ...overrides } };
  },
  build: (cfg, params) => Object.assign(withStructuredPrompting(new StackedLM(cfg, params, differentialAttention, { attentionMaps: true })), {
    // per layer: keys [B, 2 KVH, T, d] and values [B, KVH, T, 2d]
    analyticStateBytes: (context: number, batch: number) => {
      const kvHeads = numOption(cfg.mixer, 'kvHeads', cfg.heads), dh = cfg.d / cfg.heads / 2;
      return {
        bytes: cfg.layers * 4 * kvHeads * dh * context * 4 * batch,
        formula: `layers ${cfg.layers} x (K 2 x KVH ${kvHeads} x d ${dh} + V KVH ${kvHeads} x 2d ${2 * dh}) x T ${context} x 4 B x batch ${batch}`,
      };
    },
  }),
};

registerArchitecture(diff);
