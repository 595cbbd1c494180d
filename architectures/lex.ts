// LeX (Sun et al. 2023, "A Length-Extrapolatable Transformer"): xPos + blockwise causal attention.
//   Attn(X) = softmax(xPos↑(Q) xPos↓(K)^T / sqrt(Dh)) V,   xPos: rotation times zeta^(n/s) on q and
//   its inverse on k, so q_n . k_m carries zeta^((n-m)/s) (see xpos.ts; torchscale XPOS as is).
// s = scale_base (mixer option `scaleBase`, recorded): the reference's 512 at its training lengths of
// 1-2k tokens, scaled with ours as s = min(512, w/2): 16 at tiny (w 32), 64 at small (w 128), 512 at
// paper (w 2048). A fixed 512 at w 128 leaves the strongest decay in a block at zeta_0^(127/512) ≈ 0.73
// (xPos nearly idle); the ablation row lex-scale512 keeps it.
// Training (T <= w, w = the training length cfg.seq) is plain causal attention.
//
// Block rule (inference past w: forwardLong, prefill and step): blocks of b = floor(w/2) tokens; a
// query in block j attends causally to its own block and to all of block j-1. Why: every query then
// sees at most 2b <= w keys, so every relative distance (< w) is one the model was trained on, and the
// attention span never exceeds the training window; keys of a block are computed once and reused by
// the next block (the "reuse" of BCA), unlike a per-query sliding window. Blocks of w plus the
// previous block would reach distances up to 2w-1, outside training. With b = w/2, positions < w see
// every earlier key, so for T <= w the rule is exactly the causal attention of training (odd w: the
// last position differs). Decoding keeps the raw keys/values of blocks j-1 and j (at most w), and
// re-applies xPos to them each step as torchscale does (keys offset 0, query offset S-1), which keeps
// the zeta powers bounded however long the sequence.
import * as tf from '@tensorflow/tfjs';
import { appendKV, attentionFlops, causalAttend } from './attention.ts';
import type { ArchitectureSpec, ModelConfig } from './interface.ts';
import { addLinear, linear } from './layers.ts';
import { attend, attendBlocks, mergeHeads, splitHeads } from './ops/attention/index.ts';
import { blockMask } from './ops/attention/reference.ts';
import { matMul } from './ops/matmul/index.ts';
import { ablationOf, registerArchitecture } from './registry.ts';
import { StackedLM, type Mixer, type MixerFactory } from './stack.ts';
import { kvStructured, withStructuredPrompting } from './structured.ts';
import { numOption } from './tensor-helpers.ts';
import { defaultFfn, withAttentionScores } from './transformer.ts';
import { Xpos } from './xpos.ts';

/** First absolute position a query at `pos` may attend to under the block rule (block size b). */
export const blockStart = (pos: number, b: number): number => Math.max(0, (Math.floor(pos / b) - 1) * b);

export const xposAttention: MixerFactory = (p, prefix, _layer, cfg) => {
  const { d, heads } = cfg;
  const dh = d / heads;
  const b = Math.max(1, Math.floor(cfg.seq / 2));
  const xpos = new Xpos(dh, numOption(cfg.mixer, 'scaleBase', 512));
  const wQkv = addLinear(p, `${prefix}.qkv`, d, 3 * d);
  const wO = addLinear(p, `${prefix}.out`, d, d, 0.02 / Math.sqrt(2 * cfg.layers));
  const scale = 1 / Math.sqrt(dh);

  // x [B,T,D] -> raw q, k, v [B,H,T,Dh] (xPos is applied where the positions are known)
  const project = (x: tf.Tensor3D) => tf.split(linear(x, wQkv), 3, -1).map((t) => splitHeads(t, heads));
  const out = (o: tf.Tensor) => linear(mergeHeads(o), wO) as tf.Tensor3D;

  // plain causal attention over positions 0..T-1
  const causal = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => causalAttend(xpos.apply(q, 0, false), xpos.apply(k, 0, true), v, scale);

  // the block rule's [b x 2b] logits per block (attention resolution reads them): q [B,H,n,b,Dh] at local
  // positions b..2b-1 over keys [B,H,n,2b,Dh] (previous block, own block) at local positions 0..2b-1
  const inBlocks = (x: tf.Tensor, n: number) => {
    const [bs, h, t, e] = x.shape as number[];
    return tf.pad(x, [[0, 0], [0, 0], [0, n * b - t!], [0, 0]]).reshape([bs!, h!, n, b, e!]);
  };
  const withPrevious = (x: tf.Tensor, n: number) => {
    const cur = inBlocks(x, n);
    const prev = tf.concat([tf.zerosLike(cur.slice([0, 0, 0, 0, 0], [-1, -1, 1, -1, -1])), cur.slice([0, 0, 0, 0, 0], [-1, -1, n - 1, -1, -1])], 2);
    return tf.concat([prev, cur], 3);
  };
  // logits [B,H,n,b,2b] of q, k [B,H,T,Dh], hidden keys at -1e9
  const blockScores = (q: tf.Tensor, k: tf.Tensor, n: number) =>
    tf.add(tf.mul(matMul(xpos.apply(inBlocks(q, n), b, false), xpos.apply(withPrevious(k, n), 0, true), false, true), scale), blockMask(n, b));
  // the block rule with xPos at block-local positions (centre 2b): a query of block j at b..2b-1, keys of
  // block j-1 at 0..b-1 and of block j at b..2b-1. Each key is therefore rotated twice: k as its own block
  // sees it (b + m mod b) and kPrev as the next block does (m mod b); attendBlocks picks per pair.
  const blockwise = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor => {
    const [bs, h, t, e] = q.shape as number[];
    const n = Math.ceil(t! / b);
    // x [B,H,T,Dh] -> xPos at local positions offset + (p mod b), [B,H,T,Dh] (via blocks [B*H,n,b,Dh])
    const local = (x: tf.Tensor, offset: number, keys: boolean) => {
      const blocks = tf.pad(x, [[0, 0], [0, 0], [0, n * b - t!], [0, 0]]).reshape([bs! * h!, n, b, e!]);
      return xpos.apply(blocks, offset, keys, 2 * b).reshape([bs!, h!, n * b, e!]).slice([0, 0, 0, 0], [-1, -1, t!, -1]);
    };
    return attendBlocks(local(q, b, false), local(k, b, true), local(k, 0, true), v, scale, b);
  };
  // the block rule's logits laid out as [B,H,T,T]: query block j's row holds keys (j-1)b .. (j+1)b-1;
  // -Infinity where the rule hides a key (attention resolution on what inference attends to)
  const blockLogits = (q: tf.Tensor, k: tf.Tensor): tf.Tensor4D => {
    const t = q.shape[2]!, n = Math.ceil(t / b);
    const sc = blockScores(q, k, n);
    // the hide is broadcast at rank 4 ([B*H,n,b,2b]): tfjs-webgpu's Tile reads rank 5 synchronously
    const folded = sc.reshape([-1, n, b, 2 * b]);
    const masked = tf.where(tf.broadcastTo(tf.less(blockMask(n, b), 0), folded.shape), tf.fill(folded.shape, -Infinity), folded).reshape(sc.shape);
    const rows = Array.from({ length: n }, (_, j) => {
      const block = masked.slice([0, 0, j, 0, 0], [-1, -1, 1, -1, -1]).squeeze([2]); // [B,H,b,2b]
      const own = j === 0 ? block.slice([0, 0, 0, b], [-1, -1, -1, b]) : block;
      const left = Math.max(0, (j - 1) * b);
      return tf.pad(own, [[0, 0], [0, 0], [0, 0], [left, n * b - left - own.shape[3]!]], -Infinity);
    });
    return tf.concat(rows, 2).slice([0, 0, 0, 0], [-1, -1, t, t]) as tf.Tensor4D;
  };
  const long = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => (q.shape[2]! <= 2 * b ? causal(q, k, v) : blockwise(q, k, v));

  // the cache a query at `pos` needs: keys from blockStart(pos) on
  const trim = (t: tf.Tensor, pos: number) => t.slice([0, 0, t.shape[2]! - (pos + 1 - blockStart(pos, b)), 0], [-1, -1, -1, -1]);

  const mixer: Mixer = {
    forward(x) {
      const [q, k, v] = project(x);
      return out(causal(q!, k!, v!));
    },
    forwardLong(x) {
      const [q, k, v] = project(x);
      return out(long(q!, k!, v!));
    },
    prefill(x) {
      const [q, k, v] = project(x);
      const t = x.shape[1];
      // the next token (position t) needs keys from blockStart(t)
      const keep = (z: tf.Tensor) => z.slice([0, 0, blockStart(t, b), 0], [-1, -1, -1, -1]);
      return { y: out(long(q!, k!, v!)), state: { k: keep(k!), v: keep(v!) } };
    },
    step(x, state, pos) {
      const [q, k, v] = project(x);
      const kv = appendKV(state, k!, v!);
      const kc = trim(kv.k, pos), vc = trim(kv.v, pos);
      const s = kc.shape[2]!;
      const o = attend(xpos.apply(q!, s - 1, false), xpos.apply(kc, 0, true), vc, scale, null);
      return { y: out(o), state: { k: kc, v: vc } };
    },
    mixFlopsPerToken: (seq) => attentionFlops(seq, d),
    // structured prompting (architectures/structured.ts): groups and test input stay within the training
    // window, where the block rule is plain causal attention. Groups, test input and decoded tokens are
    // encoded separately, so all share one xPos centre (the window's, total = w): q.k then carries
    // zeta^((n-m)/512) exactly as one causal pass over the concatenation does.
    structured: kvStructured((x, start) => {
      const [q, k, v] = project(x);
      return { q: xpos.apply(q!, start, false, cfg.seq), k: xpos.apply(k!, start, true, cfg.seq), v: v! };
    }, (q, k, v, mask) => out(attend(q, k, v, scale, mask))),
  };
  // pre-softmax logits [B,H,T,T] as inference computes them (attention resolution): the causal forward
  // up to 2b tokens, the block rule's logits beyond
  return Object.assign(mixer, {
    scores: (x: tf.Tensor3D) => {
      const [q, k] = project(x);
      if (x.shape[1] > 2 * b) return blockLogits(q!, k!);
      return tf.mul(matMul(xpos.apply(q!, 0, false) as tf.Tensor4D, xpos.apply(k!, 0, true) as tf.Tensor4D, false, true), scale) as tf.Tensor4D;
    },
  });
};

/** Decoding cache after `context` tokens: raw K and V from blockStart(context) on, per layer. */
function lexStateBytes(cfg: ModelConfig, context: number, batch: number): { bytes: number; formula: string } {
  const keys = context - blockStart(context, Math.max(1, Math.floor(cfg.seq / 2)));
  return {
    bytes: cfg.layers * 2 * keys * cfg.d * 4 * batch,
    formula: `layers ${cfg.layers} x 2 (K,V) x keys ${keys} (own + previous block of ${Math.max(1, Math.floor(cfg.seq / 2))}) x d ${cfg.d} x 4 B x batch ${batch}`,
  };
}

export const lex: ArchitectureSpec = {
  name: 'lex',
  description: 'LeX: xPos attention; blockwise causal attention (blocks of half the training length) at inference',
  paper: 'A Length-Extrapolatable Transformer (Sun et al., 2023)',
  configure: (size, overrides = {}): ModelConfig => ({
    arch: 'lex', ...size, ffn: defaultFfn(size.d), mixer: { scaleBase: Math.min(512, size.seq / 2), ...overrides },
  }),
  build: (cfg, params) => Object.assign(withAttentionScores(withStructuredPrompting(new StackedLM(cfg, params, xposAttention, { blockwiseInference: true, attentionMaps: true },
    `blockwise causal attention: blocks of floor(seq/2) tokens, each query sees its own block causally and the previous block (at most seq keys); xPos re-applied within the window`))), {
    analyticStateBytes: (context: number, batch: number) => lexStateBytes(cfg, context, batch),
  }),
};

registerArchitecture(lex);
registerArchitecture(ablationOf(lex, 'lex-scale512', 'xPos scale_base fixed at the reference\'s 512 whatever the training length', { scaleBase: 512 }));
