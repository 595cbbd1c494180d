// YOCO (Sun et al. 2024, "You Only Cache Once"): a decoder-decoder that caches one KV.
//   self-decoder, L/2 layers:   X^{l+1} = X^l + ESA(LN(X^l)), then SwiGLU FFN
//     ESA = gated retention (default) or sliding-window attention (mixer option self: 'swa', window)
//   global KV, computed once:    K̂ = RoPE(LN(X^{L/2}) W_K),  V̂ = LN(X^{L/2}) W_V
//   cross-decoder, L/2 layers:   Y^{l+1} = Y^l + softmax(RoPE(LN(Y^l) W_Q) K̂^T / sqrt(Dh)) V̂ W_O, then FFN
//   (Y^{L/2} = X^{L/2}; kvHeads grouped KV heads.)
// Gated retention (YOCO gate_retention.py):
//   γ_n = logsigmoid(X W_γ)/16,  o_n = sum_{m<=n} exp(G_n - G_m) (q_n . k_m) Dh^-1/2 v_m,  G = cumsum γ
//   y = (swish(X W_G) ⊙ RMSNorm_1e-5(o)) W_O     (recurrent: S_n = exp(γ_n) S_{n-1} + k_n^T v_n Dh^-1/2)
//   init: xavier-uniform gains 2^-2.5 (W_Q, W_K, W_V, W_G, W_γ) and 2^-1 (W_O), as YOCO's model_parallel_init.py
// Prefill runs the self-decoder and the KV projection over the prompt and the cross-decoder only on
// the positions whose logits are wanted (early exit). Decoding state: each self-decoder layer's O(1)
// state (retention S [B,H,Dh,Dh], or a window of KV) plus the one global KV, held once.
import * as tf from '@tensorflow/tfjs';
import { appendKV, attentionFlops, causalAttend } from './attention.ts';
import type { ArchitectureSpec, Capabilities, DecodeState, LanguageModel, LayerState, ModelConfig } from './interface.ts';
import { type Params, RotationCache, addLinear, linear } from './layers.ts';
import { mergeHeads, splitHeads } from './ops/attention/index.ts';
import { rmsNorm } from './ops/norm/index.ts';
import { cumsumLast } from './ops/retention/decay.ts';
import { gatedRetain } from './ops/retention/index.ts';
import { decayedState, emptyState, retentionStep } from './ops/retention/recurrent.ts';
import { registerArchitecture } from './registry.ts';
import { type RetentionMixer, gatedOutput, retentionForm, retentionMixer } from './retention.ts';
import { Block, EmbeddingAndHead, type Mixer, type MixerFactory, NORM_EPS, activationProbe, probedBlocks, trainingFlops } from './stack.ts';
import { addXavier, linspaceAngles, logSigmoid, numOption, repeatHeads } from './tensor-helpers.ts';
import { defaultFfn, ropeAttention } from './transformer.ts';

export const gatedRetention = ((p, prefix, _layer, cfg): RetentionMixer => {
  const { d, heads } = cfg;
  const hd = d / heads;
  const normalizer = numOption(cfg.mixer, 'gateNormalizer', 16);
  const eps = numOption(cfg.mixer, 'normEps', 1e-5);
  const form = retentionForm(cfg);
  const chunk = numOption(cfg.mixer, 'chunk', 64);
  const wQkvg = addXavier(p, `${prefix}.qkvg`, d, [d, d, d, d], 2 ** -2.5);
  const wGate = addXavier(p, `${prefix}.gt`, d, [heads], 2 ** -2.5);
  const wOut = addXavier(p, `${prefix}.out`, d, [d], 2 ** -1);
  const rope = new RotationCache(linspaceAngles(hd, numOption(cfg.mixer, 'ropeTheta', 10000)));

  return retentionMixer({
    form, chunk,
    // x [B,T,D] at absolute start -> q, k [B,H,T,Dh] (rotated; k scaled by Dh^-1/2), v [B,H,T,Dh], g [B,T,D], log-decay a [B,H,T]
    project(x, start) {
      const [q, k, v, g] = tf.split(linear(x, wQkvg), 4, -1);
      return {
        q: rope.rotate(splitHeads(q!, heads), start),
        k: rope.rotate(splitHeads(tf.mul(k!, hd ** -0.5), heads), start),
        v: splitHeads(v!, heads),
        g: g!,
        a: tf.div(logSigmoid(linear(x, wGate)), normalizer).transpose([0, 2, 1]),
      };
    },
    retain: ({ q, k, v, a }, c) => gatedRetain(q, k, v, a, c),
    // S = sum_m exp(G_last - G_m) k_m^T v_m
    promptState({ k, v, a }, t) {
      const G = cumsumLast(a);
      return { S: decayedState(k, v, tf.exp(tf.sub(G.slice([0, 0, t - 1], [-1, -1, 1]), G)).expandDims(-1)) };
    },
    recur({ q, k, v, a }, state) {
      const r = retentionStep(state.S as tf.Tensor, q, k, v, tf.exp(a).expandDims(-1));
      return { o: r.o, state: { S: r.S } };
    },
    initial: (b) => ({ S: emptyState(b, heads, hd, hd) }),
    output: (o, g) => gatedOutput(o, g, wOut, eps),
    mixFlopsPerToken: (seq) => (form === 'recurrent' ? 4 * d * hd : 4 * (form === 'chunkwise' ? Math.min(chunk, seq) : seq) * d),
  });
}) satisfies MixerFactory;

interface GlobalKV {
  k: tf.Tensor;
  v: tf.Tensor;
}

/** Cross-attention to the global KV: queries at positions S-T..S-1 over the S cached keys. */
function crossAttention(p: Params, prefix: string, cfg: ModelConfig, kv: () => GlobalKV, rope: RotationCache): Mixer {
  const { d, heads } = cfg;
  const rep = heads / numOption(cfg.mixer, 'kvHeads', heads);
  const scale = 1 / Math.sqrt(d / heads);
  const wQ = addLinear(p, `${prefix}.q`, d, d);
  const wO = addLinear(p, `${prefix}.out`, d, d, 0.02 / Math.sqrt(2 * cfg.layers));
  const attendKV = (x: tf.Tensor3D): tf.Tensor3D => {
    const { k, v } = kv();
    const q = rope.rotate(splitHeads(linear(x, wQ), heads), k.shape[2]! - x.shape[1]);
    return linear(mergeHeads(causalAttend(q, repeatHeads(k, rep), repeatHeads(v, rep), scale)), wO) as tf.Tensor3D;
  };
  return {
    forward: attendKV,
    prefill: (x) => ({ y: attendKV(x), state: {} }),
    step: (x) => ({ y: attendKV(x), state: {} }),
    mixFlopsPerToken: (seq) => attentionFlops(seq, d),
  };
}

const SELF_MIXERS: Record<string, MixerFactory> = { gret: gatedRetention, swa: ropeAttention };

export class YocoLM implements LanguageModel {
  readonly io: EmbeddingAndHead;
  readonly self: Block[] = [];
  readonly cross: Block[] = [];
  readonly capabilities: Capabilities;
  private readonly kvNorm: tf.Variable;
  private readonly wKv: tf.Variable;
  private readonly rope: RotationCache;
  private readonly kvHeads: number;
  /** The global KV the cross-decoder reads while it runs. */
  private shared: GlobalKV | null = null;

  constructor(readonly config: ModelConfig, readonly params: Params) {
    const { d, heads, layers } = config;
    const selfKind = String(config.mixer.self ?? 'gret');
    const selfMixer = SELF_MIXERS[selfKind];
    if (!selfMixer) throw new Error(`yoco: unknown self-decoder '${selfKind}'; valid: ${Object.keys(SELF_MIXERS).join(', ')}`);
    this.capabilities = { chunkwise: selfKind === 'gret', attentionMaps: true, activations: true, continuousInput: true };
    this.kvHeads = numOption(config.mixer, 'kvHeads', heads);
    this.rope = new RotationCache(linspaceAngles(d / heads, numOption(config.mixer, 'ropeTheta', 10000)));
    this.io = new EmbeddingAndHead(params, config);
    const nSelf = Math.floor(layers / 2);
    for (let l = 0; l < nSelf; l++) this.self.push(new Block(params, `layers.${l}`, config, selfMixer(params, `layers.${l}.mix`, l, config)));
    this.kvNorm = params.add('kv.norm', [d], { kind: 'ones' });
    this.wKv = addLinear(params, 'kv.proj', d, (2 * d * this.kvHeads) / heads);
    const kv = () => this.shared!;
    for (let l = nSelf; l < layers; l++) {
      this.cross.push(new Block(params, `layers.${l}`, config, crossAttention(params, `layers.${l}.cross`, config, kv, this.rope)));
    }
  }

  /** The global KV of self-decoder outputs x [B,T,D] at positions start..: k, v [B,KVH,T,Dh] (k rotated). */
  private globalKV(x: tf.Tensor3D, start: number): GlobalKV {
    const [k, v] = tf.split(linear(rmsNorm(x, this.kvNorm, NORM_EPS), this.wKv), 2, -1);
    return { k: this.rope.rotate(splitHeads(k!, this.kvHeads), start), v: splitHeads(v!, this.kvHeads) };
  }

  /** f() with the cross-decoder reading kv. */
  private withKV<T>(kv: GlobalKV, f: () => T): T {
    this.shared = kv;
    try {
      return f();
    } finally {
      this.shared = null;
    }
  }

  /** The cross-decoder on queries y (the last positions of the sequence) over kv -> its output (pre-norm). */
  private crossBlocks(y: tf.Tensor3D, kv: GlobalKV): tf.Tensor3D {
    return this.withKV(kv, () => this.cross.reduce((h, b) => b.forward(h), y));
  }

  /** Self-decoder then cross-decoder over embeddings x [B,T,D] -> the last block's output. */
  private decode(x: tf.Tensor3D): tf.Tensor3D {
    for (const b of this.self) x = b.forward(x);
    return this.crossBlocks(x, this.globalKV(x, 0));
  }

  /** The cross-decoder on queries y over kv -> logits. */
  private crossDecode(y: tf.Tensor3D, kv: GlobalKV): tf.Tensor3D {
    return this.io.logits(this.crossBlocks(y, kv));
  }

  /** Self-decoder layers, then cross-decoder layers (logits where a mixer has scores: not gated retention, not cross-attention). */
  readonly activations = activationProbe((tokens, opts) => {
    const x = probedBlocks(this.self, this.io.embed(tokens), 0, opts);
    return this.withKV(this.globalKV(x, 0), () => probedBlocks(this.cross, x, this.self.length, opts));
  }, (x) => this.io.logits(x));

  forward(tokens: tf.Tensor2D): tf.Tensor3D {
    return this.io.logits(this.decode(this.io.embed(tokens)));
  }

  /** Continuous input: embeddings [B, T, D] -> final-normed hidden [B, T, D]. */
  forwardHidden(x: tf.Tensor3D): tf.Tensor3D {
    return this.io.hidden(this.decode(x));
  }

  prefill(tokens: tf.Tensor2D, opts: { allLogits?: boolean } = {}): { logits: tf.Tensor3D; state: DecodeState } {
    let x = this.io.embed(tokens);
    const layers: LayerState[] = [];
    for (const b of this.self) {
      const r = b.prefill(x);
      x = r.y;
      layers.push(r.state);
    }
    const kv = this.globalKV(x, 0);
    const t = x.shape[1];
    const queries = opts.allLogits ? x : (x.slice([0, t - 1, 0], [-1, 1, -1]) as tf.Tensor3D); // early exit
    const logits = this.crossDecode(queries, kv);
    layers.push({ k: kv.k, v: kv.v });
    return { logits, state: { pos: t, layers } };
  }

  step(state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState } {
    let x = this.io.embed(token.reshape([-1, 1]));
    const layers: LayerState[] = [];
    this.self.forEach((b, l) => {
      const r = b.step(x, state.layers[l]!, state.pos);
      x = r.y;
      layers.push(r.state);
    });
    const add = this.globalKV(x, state.pos);
    const kv = appendKV(state.layers[this.self.length]!, add.k, add.v);
    const logits = this.crossDecode(x, kv).squeeze([1]) as tf.Tensor2D;
    layers.push(kv);
    return { logits, state: { pos: state.pos + 1, layers } };
  }

  /** Self-decoder states (O(1): retention S, or a window of KV) plus the one global KV. */
  analyticStateBytes(context: number, batch: number): { bytes: number; formula: string } {
    const { d, heads, mixer } = this.config;
    const hd = d / heads, n = this.self.length;
    const swa = String(mixer.self ?? 'gret') === 'swa';
    const window = swa ? Math.min(context, numOption(mixer, 'window', context)) : 0;
    const selfBytes = swa ? n * 2 * window * d * 4 * batch : n * heads * hd * hd * 4 * batch;
    const kvBytes = 2 * context * this.kvHeads * hd * 4 * batch;
    return {
      bytes: selfBytes + kvBytes,
      formula: `self ${n} x ${swa ? `2 (K,V) x window ${window} x d ${d}` : `H ${heads} x ${hd} x ${hd}`} x 4 B x batch ${batch}` +
        ` + one KV: 2 x T ${context} x d_kv ${this.kvHeads * hd} x 4 B x batch ${batch}`,
    };
  }

  flopsPerToken(seq: number): number {
    const mix = [...this.self, ...this.cross].reduce((s, b) => s + b.mixer.mixFlopsPerToken(seq), 0);
    return trainingFlops(this.params, this.config, mix);
  }
}

export const yoco: ArchitectureSpec = {
  name: 'yoco',
  description: 'YOCO: gated-retention self-decoder + cross-decoder over one global KV cache (early-exit prefill)',
  paper: 'You Only Cache Once: Decoder-Decoder Architectures for Language Models (Sun et al., 2024)',
  configure: (size, overrides = {}): ModelConfig => ({
    arch: 'yoco', ...size, ffn: defaultFfn(size.d),
    mixer: { self: 'gret', window: Math.max(1, Math.floor(size.seq / 4)), kvHeads: size.heads, form: 'parallel', chunk: 64, ...overrides },
  }),
  build: (cfg, params) => new YocoLM(cfg, params),
};

registerArchitecture(yoco);
