// Momentum attention (Dai et al. 2023, "Why Can GPT Learn In-Context?"): attention read as a
// meta-gradient step gets a momentum term, an exponential moving average of the values:
//   MoAttn(V, K, q_t) = Attn(V, K, q_t) + EMA(V)_t,   EMA(V)_t = sum_{i<t} eta^(t-i) v_i
// Otherwise the RoPE baseline (same projections and sizes).
// eta (mixer option `eta`, default 0.9): no value for eta was found in the sources this project holds
// (the paper's abstract, ../shared/papers/CLAIMS.md; the ICL repository has no momentum attention), so
// 0.9 is SGD momentum's customary value, not the paper's; the ablation rows momentum-eta0.5 and
// momentum-eta0.99 keep any verdict from hanging on it.
// The EMA is unnormalised (mixer option `emaNormalised`, false), as the paper writes it and as momentum
// in gradient descent accumulates (m = eta m + g): its weights sum to at most eta/(1-eta) (9 at 0.9),
// against attention's convex average. `emaNormalised: true` scales it by (1-eta)/eta so they sum to at most 1.
// Decoding: KV cache plus m_t = EMA(V)_t, updated in O(1): m_{t+1} = eta (m_t + v_t).
import * as tf from '@tensorflow/tfjs';
import { appendKV, attentionFlops, causalAttend } from './attention.ts';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { RotationCache, addLinear, linear, ropeAngles } from './layers.ts';
import { mergeHeads, splitHeads } from './ops/attention/index.ts';
import { matMul, matMul2d } from './ops/matmul/index.ts';
import { ablationOf, registerArchitecture } from './registry.ts';
import { StackedLM, type Mixer, type MixerFactory } from './stack.ts';
import { cachedConst, numOption } from './tensor-helpers.ts';
import { defaultFfn, kvCacheBytes, withAttentionScores } from './transformer.ts';

/** EMA weights E[t, i] = c eta^(t-i) for i < t, else 0, for t = 0..rows-1 over `cols` values: [rows, cols]. */
export function emaMatrix(rows: number, cols: number, eta: number, c = 1): tf.Tensor2D {
  return cachedConst(`ema:${rows}:${cols}:${eta}:${c}`, () => {
    const e = new Float32Array(rows * cols);
    for (let t = 0; t < rows; t++) for (let i = 0; i < Math.min(t, cols); i++) e[t * cols + i] = c * Math.pow(eta, t - i);
    return tf.tensor2d(e, [rows, cols]);
  }) as tf.Tensor2D;
}

/** E v over the time axis as one 2-D matMul: E [R, T], v [B, T, D] -> [B, R, D]. */
function applyOverTime(e: tf.Tensor2D, v: tf.Tensor3D): tf.Tensor3D {
  const [b, t, d] = v.shape;
  const flat = v.transpose([1, 0, 2]).reshape([t, b * d]) as tf.Tensor2D;
  return matMul2d(e, flat).reshape([e.shape[0], b, d]).transpose([1, 0, 2]) as tf.Tensor3D;
}

export const momentumAttention: MixerFactory = (p, prefix, _layer, cfg) => {
  const { d, heads } = cfg;
  const eta = numOption(cfg.mixer, 'eta', 0.9);
  const c = cfg.mixer.emaNormalised === true && eta > 0 ? (1 - eta) / eta : 1; // the EMA's scale (see the header)
  const wQkv = addLinear(p, `${prefix}.qkv`, d, 3 * d);
  const wO = addLinear(p, `${prefix}.out`, d, d, 0.02 / Math.sqrt(2 * cfg.layers));
  const rope = new RotationCache(ropeAngles(d / heads));
  const scale = 1 / Math.sqrt(d / heads);

  // x [B,T,D] at absolute start -> rotated q, k [B,H,T,Dh], v [B,H,T,Dh] and the values merged, vm [B,T,D]
  const project = (x: tf.Tensor3D, start: number) => {
    const [q, k, vm] = tf.split(linear(x, wQkv), 3, -1);
    return { q: rope.rotate(splitHeads(q!, heads), start), k: rope.rotate(splitHeads(k!, heads), start), v: splitHeads(vm!, heads), vm: vm as tf.Tensor3D };
  };
  // (Attn + EMA) W_O; attn [B,H,T,Dh], ema [B,T,D]
  const out = (attn: tf.Tensor, ema: tf.Tensor) => linear(tf.add(mergeHeads(attn), ema), wO) as tf.Tensor3D;

  const mixer: Mixer = {
    forward(x) {
      const { q, k, v, vm } = project(x, 0);
      const t = x.shape[1];
      return out(causalAttend(q, k, v, scale), applyOverTime(emaMatrix(t, t, eta, c), vm));
    },
    prefill(x) {
      const { q, k, v, vm } = project(x, 0);
      const t = x.shape[1];
      const ema = applyOverTime(emaMatrix(t + 1, t, eta, c), vm); // rows 0..T-1: EMA_t; row T: m for the next token
      return {
        y: out(causalAttend(q, k, v, scale), ema.slice([0, 0, 0], [-1, t, -1])),
        state: { k, v, m: ema.slice([0, t, 0], [-1, 1, -1]) },
      };
    },
    step(x, state, pos) {
      const { q, k, v, vm } = project(x, pos);
      const kv = appendKV(state, k, v);
      const m = state.m as tf.Tensor;
      return { y: out(causalAttend(q, kv.k, kv.v, scale), m), state: { ...kv, m: tf.add(tf.mul(m, eta), tf.mul(vm, c * eta)) } };
    },
    // attention plus the EMA's T-long weighted sum per token (the parallel form's cost)
    mixFlopsPerToken: (seq) => attentionFlops(seq, d) + 2 * seq * d,
  };
  // pre-softmax logits [B,H,T,T] (attention resolution; the EMA term is outside the maps)
  return Object.assign(mixer, {
    scores: (x: tf.Tensor3D) => {
      const { q, k } = project(x, 0);
      return tf.mul(matMul(q, k, false, true), scale) as tf.Tensor4D;
    },
  });
};

export const momentum: ArchitectureSpec = {
  name: 'momentum',
  description: 'Momentum attention: softmax attention plus an EMA of the values (eta), O(1) momentum state',
  paper: 'Why Can GPT Learn In-Context? Language Models Implicitly Perform Gradient Descent as Meta-Optimizers (Dai et al., 2023)',
  configure: (size, overrides = {}): ModelConfig => ({
    arch: 'momentum', ...size, ffn: defaultFfn(size.d), mixer: { eta: 0.9, emaNormalised: false, ...overrides },
  }),
  build: (cfg, params) => Object.assign(withAttentionScores(new StackedLM(cfg, params, momentumAttention, { attentionMaps: true })), {
    analyticStateBytes: (context: number, batch: number) => {
      const kv = kvCacheBytes(cfg, cfg.layers, context, batch);
      return { bytes: kv.bytes + cfg.layers * cfg.d * 4 * batch, formula: `${kv.formula} + momentum layers ${cfg.layers} x d ${cfg.d} x 4 B x batch ${batch}` };
    },
  }),
};

registerArchitecture(momentum);
for (const eta of [0.5, 0.99]) registerArchitecture(ablationOf(momentum, `momentum-eta${eta}`, `EMA decay eta = ${eta} instead of 0.9`, { eta }));
