// RetNet (Sun et al. 2023, "Retentive Network"): multi-scale retention in place of attention.
//   Retention(X) = (Q K^T ⊙ D) V,  Q = (X W_Q) ⊙ Θ,  K = (X W_K) ⊙ conj(Θ),  D_nm = γ^(n-m) (n >= m)
//   γ_h = 1 - 2^(-5-h) per head;  MSR(X) = (swish(X W_G) ⊙ GroupNorm(head_1..head_h)) W_O
// Parallel (training), recurrent (decoding; O(1) state S_n = γ S_{n-1} + k_n^T v_n) and chunkwise
// (long sequences; chunk size `chunk`) forms, selected by `form`. Normalisations as the torchscale
// reference: D rows / sqrt(sum), the abs-sum clamp, the chunkwise scales (see ops/retention/).
// Paper/reference sizes: key dim d, value dim 2d (W_V, W_G: d x 2d; W_O: 2d x d), FFN 2d (SwiGLU, as
// torchscale's GLU with swish), per-head RMS group norm (eps 1e-6, no weight), xavier init gains 2^-2.5
// (q, k, v, g) and 2^-1 (out).
// Heads (mixer option `headRule`, recorded in the config with the resulting `retentionHeads`):
//   'torchscale' (default): few heads with wide keys. Every torchscale RetNet config (retnet_base d512 /
//     2 heads ... retnet_65b d8192 / 32 heads) has key head dim d/h = 256; scaled to the preset,
//     h = max(2, round(d/256)): 2 heads at d32 and d128 (as retnet_base), 3 at d768 (d/h = 256).
//     (torchscale's value_embed_dim is 1.6875 d, e.g. 864 at d512; we keep the paper's 2d.)
//   'preset': the preset's attention heads (d/h = 32 at small): the ablation row retnet-preset-heads.
// The decay rates γ_h = 1 - 2^(-5-h) follow the head count, so fewer heads also means fewer scales.
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { RotationCache, linear } from './layers.ts';
import { splitHeads } from './ops/attention/index.ts';
import { msrLogDecays, msrScale } from './ops/retention/decay.ts';
import { msrRetain } from './ops/retention/index.ts';
import { decayedState, emptyState, retentionStep } from './ops/retention/recurrent.ts';
import { ablationOf, registerArchitecture } from './registry.ts';
import { type RetentionMixer, gatedOutput, retentionForm, retentionMixer } from './retention.ts';
import { StackedLM, type MixerFactory } from './stack.ts';
import { addXavier, linspaceAngles, numOption } from './tensor-helpers.ts';

export const RETNET_HEAD_RULES = ['torchscale', 'preset'] as const;

/** Retention heads under `rule` at width d with the preset's `presetHeads` (see the header). */
export function retentionHeads(rule: string, d: number, presetHeads: number): number {
  if (rule === 'preset') return presetHeads;
  if (rule !== 'torchscale') throw new Error(`unknown RetNet headRule '${rule}'; valid: ${RETNET_HEAD_RULES.join(', ')}`);
  const h = Math.max(2, Math.round(d / 256));
  if (d % h !== 0 || (d / h) % 2 !== 0) throw new Error(`RetNet: d ${d} does not split into ${h} heads of even width`);
  return h;
}

export const multiScaleRetention = ((p, prefix, _layer, cfg): RetentionMixer => {
  const { d } = cfg;
  const heads = numOption(cfg.mixer, 'retentionHeads', cfg.heads);
  const dv = numOption(cfg.mixer, 'valueDim', 2 * d);
  const kd = d / heads, hd = dv / heads;
  const eps = numOption(cfg.mixer, 'normEps', 1e-6);
  const form = retentionForm(cfg);
  const chunk = numOption(cfg.mixer, 'chunk', 64);
  const wQkvg = addXavier(p, `${prefix}.qkvg`, d, [d, d, dv, dv], 2 ** -2.5);
  const wOut = addXavier(p, `${prefix}.out`, dv, [d], 2 ** -1);
  const logGammas = msrLogDecays(heads);
  const rot = new RotationCache(linspaceAngles(kd));
  const perHead = (f: (logGamma: number) => number) => tf.tensor(logGammas.map(f), [1, heads, 1, 1]);

  return retentionMixer({
    form, chunk,
    // x [B,T,D] at absolute position start -> qr, kr [B,H,T,kd] (k scaled by kd^-1/2), v [B,H,T,hd], g [B,T,dv]
    project(x, start) {
      const [q, k, v, g] = tf.split(linear(x, wQkvg), [d, d, dv, dv], -1);
      return {
        qr: rot.rotate(splitHeads(q!, heads), start),
        kr: rot.rotate(splitHeads(tf.mul(k!, kd ** -0.5), heads), start),
        v: splitHeads(v!, heads),
        g: g!,
      };
    },
    retain: ({ qr, kr, v }, c) => msrRetain(qr, kr, v, logGammas, c),
    // U = sum_m γ^(T-1-m) kr_m^T v_m
    promptState({ kr, v }, t) {
      const w = tf.tensor(logGammas.flatMap((lg) => Array.from({ length: t }, (_, m) => Math.exp(lg * (t - 1 - m)))), [1, heads, t, 1]);
      return { S: decayedState(kr, v, w) };
    },
    // position n: U_n = γ U_{n-1} + kr_n^T v_n; o_n = qr_n U_n / sqrt(s_n), s_n = sum_{m<=n} γ^(n-m)
    // (torchscale stores S_n = U_n / sqrt(s_n): the same state, scaled)
    recur({ qr, kr, v }, state, pos) {
      const r = retentionStep(state.S as tf.Tensor, qr, kr, v, perHead(Math.exp));
      return { o: tf.mul(r.o, perHead((lg) => 1 / Math.sqrt(msrScale(lg, pos)))), state: { S: r.S } };
    },
    initial: (b) => ({ S: emptyState(b, heads, kd, hd) }),
    output: (o, g) => gatedOutput(o, g, wOut, eps),
    // q k^T and A v per token (parallel), the state update and read-out (recurrent), both per chunk (chunkwise)
    mixFlopsPerToken(seq) {
      const recurrent = (4 * d * dv) / heads;
      if (form === 'recurrent') return recurrent;
      return form === 'chunkwise' ? 2 * Math.min(chunk, seq) * (d + dv) + recurrent : 2 * seq * (d + dv);
    },
  });
}) satisfies MixerFactory;

export const retnet: ArchitectureSpec = {
  name: 'retnet',
  description: 'RetNet: multi-scale retention (parallel / chunkwise / recurrent), O(1) decoding state',
  paper: 'Retentive Network: A Successor to Transformer for Large Language Models (Sun et al., 2023)',
  configure: (size, overrides = {}): ModelConfig => {
    const headRule = String(overrides.headRule ?? 'torchscale');
    return {
      arch: 'retnet', ...size, ffn: 2 * size.d,
      mixer: { valueDim: 2 * size.d, form: 'parallel', chunk: 64, headRule, retentionHeads: retentionHeads(headRule, size.d, size.heads), ...overrides },
    };
  },
  build: (cfg, params) => Object.assign(new StackedLM(cfg, params, multiScaleRetention, { chunkwise: true }), {
    // one state S [B, H, Dk, Dv] per layer, whatever the context
    analyticStateBytes: (_context: number, batch: number) => {
      const dv = numOption(cfg.mixer, 'valueDim', 2 * cfg.d);
      const h = numOption(cfg.mixer, 'retentionHeads', cfg.heads);
      return {
        bytes: cfg.layers * h * (cfg.d / h) * (dv / h) * 4 * batch,
        formula: `layers ${cfg.layers} x H ${h} x Dk ${cfg.d / h} x Dv ${dv / h} x 4 B x batch ${batch} (any context)`,
      };
    },
  }),
};

registerArchitecture(retnet);
registerArchitecture(ablationOf(retnet, 'retnet-preset-heads', 'the preset\'s attention heads for retention (d/h = 32 at small) instead of torchscale\'s few wide heads', { headRule: 'preset' }));
