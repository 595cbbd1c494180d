// Retention kernels: RetNet's multi-scale retention (MSR) and YOCO's gated retention, each in its
// parallel, chunkwise and recurrent forms, plus the output path both share. The math follows the
// reference code exactly (torchscale MultiScaleRetention; YOCO gate_recurrent.py), quirks included;
// ../shared/golden/README.md spells it out. Layouts: q, k [B, H, T, Dk]; v [B, H, T, Dv].
//
//   decayed linear attention:  o_n = sum_{m<=n} decay(n, m) (q_n . k_m) v_m
//   recurrence:                S_n = decay_n S_{n-1} + k_n^T v_n,   o_n = q_n S_n      (S: [Dk, Dv])
import * as tf from '@tensorflow/tfjs';
import type { LayerState, ModelConfig } from './interface.ts';
import { linear, mergeHeads, rmsNorm, silu } from './layers.ts';
import { cachedConst, detach } from './ops.ts';
import type { Mixer } from './stack.ts';

// ---------------------------------------------------------------- shared pieces

export const RETENTION_FORMS = ['parallel', 'chunkwise', 'recurrent'] as const;
export type RetentionForm = (typeof RETENTION_FORMS)[number];

/** A retention mixer also exposes each of its forms (the golden check runs all of them). */
export interface RetentionMixer extends Mixer {
  forms: Record<RetentionForm, (x: tf.Tensor3D, chunk?: number) => tf.Tensor3D>;
}

/** The form a retention mixer's forward uses: mixer option `form` (default parallel). */
export function retentionForm(cfg: ModelConfig): RetentionForm {
  const form = String(cfg.mixer.form ?? 'parallel') as RetentionForm;
  if (!RETENTION_FORMS.includes(form)) throw new Error(`unknown retention form '${form}'; valid: ${RETENTION_FORMS.join(', ')}`);
  return form;
}

/** What a retention layer supplies; retentionMixer() assembles its forms, forward, prefill and step. */
export interface RetentionParts<P extends { g: tf.Tensor }> {
  form: RetentionForm;
  chunk: number;
  /** x [B,T,D] at absolute positions start.. -> the projected, position-encoded q, k, v, gate g, ... */
  project(x: tf.Tensor3D, start: number): P;
  /** Retention over a whole prompt, o [B,H,T,Dv]: the parallel form (c = null) or the chunkwise one. */
  retain(pr: P, c: number | null): tf.Tensor;
  /** The recurrent state after the prompt, in closed form (no loop over tokens). */
  promptState(pr: P, t: number): LayerState;
  /** One token at position pos: its retention output o [B,H,1,Dv] (before the output path) and the next state. */
  recur(pr: P, state: LayerState, pos: number): { o: tf.Tensor; state: LayerState };
  /** The state before the first token. */
  initial(batch: number): LayerState;
  /** The output path: o [B,H,T,Dv], gate g -> y [B,T,D]. */
  output(o: tf.Tensor, g: tf.Tensor): tf.Tensor3D;
  mixFlopsPerToken(seq: number): number;
}

export function retentionMixer<P extends { g: tf.Tensor }>(parts: RetentionParts<P>): RetentionMixer {
  const { form, chunk, project, retain, output } = parts;
  const step = (x: tf.Tensor3D, state: LayerState, pos: number) => {
    const pr = project(x, pos);
    const r = parts.recur(pr, state, pos);
    return { y: output(r.o, pr.g), state: r.state };
  };
  const whole = (x: tf.Tensor3D, c: number | null) => {
    const pr = project(x, 0);
    return { y: output(retain(pr, c), pr.g), pr };
  };
  const forms: RetentionMixer['forms'] = {
    parallel: (x) => whole(x, null).y,
    chunkwise: (x, c = chunk) => whole(x, c).y,
    recurrent: (x) => scan(x, parts.initial(x.shape[0]), 0, step).y,
  };
  return {
    forms,
    forward: (x) => forms[form](x),
    // The inference path: a prompt longer than the chunk runs chunkwise whatever the forward form (O(T C)
    // time and memory, not the parallel form's O(T^2)); the state is the recurrent one, in closed form.
    // (RetNet's chunkwise output differs from the parallel one only by the group-norm eps quirk.)
    prefill(x) {
      if (form === 'recurrent') return scan(x, parts.initial(x.shape[0]), 0, step);
      const t = x.shape[1];
      const { y, pr } = whole(x, form === 'chunkwise' || t > chunk ? chunk : null);
      return { y, state: parts.promptState(pr, t) };
    },
    step,
    mixFlopsPerToken: parts.mixFlopsPerToken,
  };
}

/** One recurrent step: S' = decay * S + k^T v, o = q S'. q, k [B,H,1,Dk], v [B,H,1,Dv], decay broadcast to [B,H,1,1]. */
export function retentionStep(S: tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, decay: tf.Tensor): { o: tf.Tensor4D; S: tf.Tensor4D } {
  const [b, h, , dk] = k.shape as number[];
  const dv = v.shape[3]!;
  const kv = tf.mul(k.reshape([b!, h!, dk!, 1]), v.reshape([b!, h!, 1, dv])); // k^T v, [B,H,Dk,Dv]
  const next = tf.add(tf.mul(S, decay), kv) as tf.Tensor4D;
  return { o: tf.matMul(q as tf.Tensor4D, next), S: next };
}

/** sum_m w_m k_m^T v_m: the recurrent state after a prompt, in closed form. w [B|1, H, T, 1] -> [B,H,Dk,Dv]. */
export function decayedState(k: tf.Tensor, v: tf.Tensor, w: tf.Tensor): tf.Tensor4D {
  return tf.matMul(k as tf.Tensor4D, tf.mul(v, w) as tf.Tensor4D, true, false);
}

/** A zero recurrent state [B, H, Dk, Dv] (the state before the first token). */
export const emptyState = (b: number, h: number, dk: number, dv: number): tf.Tensor4D => tf.zeros([b, h, dk, dv]);

/** y = (silu(g) ⊙ GroupRMSNorm_eps(o)) W_out.  o [B,H,T,Dv] (norm per head, no weight), g [B,T,H*Dv]. */
export function gatedOutput(o: tf.Tensor, g: tf.Tensor, wOut: tf.Tensor, eps: number): tf.Tensor3D {
  return linear(tf.mul(silu(g), mergeHeads(rmsNorm(o, null, eps))), wOut) as tf.Tensor3D;
}

/** The recurrent form over a whole sequence: one `step` per token from `state` (for checks and the 'recurrent' form). */
export function scan(x: tf.Tensor3D, state: LayerState, start: number,
                     step: (x: tf.Tensor3D, state: LayerState, pos: number) => { y: tf.Tensor3D; state: LayerState }): { y: tf.Tensor3D; state: LayerState } {
  const ys: tf.Tensor3D[] = [];
  const t = x.shape[1];
  for (let i = 0; i < t; i++) {
    const r = step(x.slice([0, i, 0], [-1, 1, -1]), state, start + i);
    ys.push(r.y);
    state = r.state;
  }
  return { y: tf.concat(ys, 1), state };
}

/** Zero-pad axis 2 of [B, H, T, ...] to a multiple of c and split it into chunks: [B, H, T/c, c, ...]. */
function chunked(x: tf.Tensor, c: number): tf.Tensor {
  const [b, h, t, ...rest] = x.shape as number[];
  const n = Math.ceil(t! / c);
  const pads: [number, number][] = x.shape.map((_, i) => (i === 2 ? [0, n * c - t!] : [0, 0]) as [number, number]);
  return tf.pad(x, pads).reshape([b!, h!, n, c, ...rest]);
}

/** [B, H, n, c, D] -> [B, H, T, D] keeping the first T rows. */
function unchunked(x: tf.Tensor, t: number): tf.Tensor4D {
  const [b, h, n, c, d] = x.shape as number[];
  return x.reshape([b!, h!, n! * c!, d!]).slice([0, 0, 0, 0], [-1, -1, t, -1]) as tf.Tensor4D;
}

/** The state before each chunk, stacked [B,H,n,Dk,Dv]: S_0 = 0, S_{i+1} = decay_i * S_i + add_i (`after` sees each new S). */
function chunkStates(add: tf.Tensor, decay: (i: number) => tf.Tensor | number, after?: (S: tf.Tensor) => void): tf.Tensor {
  const n = add.shape[2]!;
  const [b, h, , dk, dv] = add.shape as number[];
  let S: tf.Tensor = tf.zeros([b!, h!, dk!, dv!]);
  const before: tf.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    before.push(S);
    S = tf.add(tf.mul(S, decay(i)), add.slice([0, 0, i, 0, 0], [-1, -1, 1, -1, -1]).squeeze([2]));
    after?.(S);
  }
  return tf.stack(before, 2); // [B, H, n, Dk, Dv]
}

// ---------------------------------------------------------------- RetNet multi-scale retention

/** gamma_h = 1 - 2^(-5-h): log-decays per head (torchscale RetNetRelPos). */
export function msrLogDecays(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => Math.log(1 - Math.pow(2, -5 - h)));
}

/** s_n = sum_{m<=n} gamma^(n-m): the recurrent form's normaliser after n+1 tokens (closed form). */
export function msrScale(logGamma: number, n: number): number {
  const g = Math.exp(logGamma);
  return (1 - Math.pow(g, n + 1)) / (1 - g);
}

/** Parallel decay mask D[h,n,m] = gamma_h^(n-m) / sqrt(sum_{m'<=n} gamma_h^(n-m')) for m <= n, else 0: [H, T, T]. */
function msrDecayMask(logGammas: number[], t: number): tf.Tensor {
  return cachedConst(`msr-mask:${logGammas.join(',')}:${t}`, () => {
    const m = new Float32Array(logGammas.length * t * t);
    logGammas.forEach((lg, h) => {
      for (let n = 0; n < t; n++) {
        const norm = Math.sqrt(msrScale(lg, n));
        for (let j = 0; j <= n; j++) m[(h * t + n) * t + j] = Math.exp(lg * (n - j)) / norm;
      }
    });
    return tf.tensor3d(m, [logGammas.length, t, t]);
  });
}

/**
 * Parallel MSR:  A = (q_r k_r^T) ⊙ D,  A_n /= clamp(sum_m |A_nm|, 1, 5e4) (detached),  o = A v.
 * qr, kr [B,H,T,Dk] (rotated, k already scaled by Dk^-1/2), v [B,H,T,Dv] -> o [B,H,T,Dv].
 */
export function msrParallel(qr: tf.Tensor, kr: tf.Tensor, v: tf.Tensor, logGammas: number[]): tf.Tensor4D {
  const a = tf.mul(tf.matMul(qr as tf.Tensor4D, kr as tf.Tensor4D, false, true), msrDecayMask(logGammas, qr.shape[2]!));
  const norm = tf.clipByValue(detach(tf.sum(tf.abs(a), -1, true)), 1, 5e4);
  return tf.matMul(tf.div(a, norm) as tf.Tensor4D, v as tf.Tensor4D);
}

/** Chunkwise constants for chunk size c (torchscale RetNetRelPos): inner mask, query/value inner decays, cross decay. */
function msrChunkConsts(logGammas: number[], c: number) {
  const key = `msr-chunk:${logGammas.join(',')}:${c}`;
  const h = logGammas.length;
  const inner = new Float32Array(h * c * c), qid = new Float32Array(h * c), vid = new Float32Array(h * c), cross = new Float32Array(h);
  logGammas.forEach((lg, hh) => {
    const total = msrScale(lg, c - 1); // sum_j M[c-1, j]
    for (let i = 0; i < c; i++) {
      const rs = Math.sqrt(msrScale(lg, i)); // sqrt(sum_j M[i, j])
      for (let j = 0; j <= i; j++) inner[(hh * c + i) * c + j] = Math.exp(lg * (i - j)) / rs;
      qid[hh * c + i] = (Math.exp(lg * (i + 1)) * total) / rs;
      vid[hh * c + i] = Math.exp(lg * (c - 1 - i)) / total;
    }
    cross[hh] = Math.exp(lg * c);
  });
  return {
    inner: cachedConst(`${key}:inner`, () => tf.tensor(inner, [1, h, 1, c, c])),
    queryDecay: cachedConst(`${key}:qid`, () => tf.tensor(qid, [1, h, 1, c, 1])),
    valueDecay: cachedConst(`${key}:vid`, () => tf.tensor(vid, [1, h, 1, c, 1])),
    crossDecay: cachedConst(`${key}:cross`, () => tf.tensor(cross, [1, h, 1, 1])),
  };
}

/**
 * Chunkwise MSR (torchscale chunk_recurrent_forward), chunk size c; the sequence is zero-padded to a
 * multiple of c, as RetNetDecoder does. Per chunk:
 *   a = (q_r k_r^T) ⊙ inner_mask,  isc = max(sum|a|, 1),  cross = (q_r ⊙ query_inner_decay) S,
 *   o = (a v + cross) / max(isc, kvs);  S <- S gamma^c + k_r^T (v ⊙ value_inner_decay),
 *   kvs = max(1, max_Dv sum_Dk |S|)   (scales detached, as in the reference).
 */
export function msrChunkwise(qr: tf.Tensor, kr: tf.Tensor, v: tf.Tensor, logGammas: number[], c: number): tf.Tensor4D {
  const t = qr.shape[2]!;
  const k5 = chunked(kr, c), q5 = chunked(qr, c), v5 = chunked(v, c); // [B,H,n,c,*]
  const { inner, queryDecay, valueDecay, crossDecay } = msrChunkConsts(logGammas, c);
  const a = tf.mul(tf.matMul(q5, k5, false, true), inner);
  const innerScale = tf.maximum(detach(tf.sum(tf.abs(a), -1, true)), 1); // [B,H,n,c,1]
  const kvScales: tf.Tensor[] = [tf.ones([...v5.shape.slice(0, 2), 1, 1])];
  const states = chunkStates(tf.matMul(k5, tf.mul(v5, valueDecay), true, false), () => crossDecay,
    (S) => kvScales.push(tf.maximum(tf.max(tf.sum(tf.abs(detach(S)), -2, true), -1, true), 1)));
  // the scale before each chunk, [B,H,n,1,1], broadcast to [B,H,n,c,1] by an add (tfjs's Maximum gradient does not broadcast)
  const kvScale = tf.add(tf.stack(kvScales.slice(0, -1), 2), tf.zerosLike(innerScale));
  const cross = tf.matMul(tf.mul(q5, queryDecay), states);
  const o = tf.div(tf.add(tf.matMul(a, v5), cross), tf.maximum(innerScale, kvScale));
  return unchunked(o, t);
}

// ---------------------------------------------------------------- YOCO gated retention

/** Inclusive cumulative sum over the last axis (named by its positive index: the wasm Cumsum kernel crashes on axis -1). */
export const cumsumLast = (a: tf.Tensor): tf.Tensor => tf.cumsum(a, a.rank - 1);

/** Decay matrix exp(G_n - G_m) for m <= n, else 0, from cumulative log-decays G [.., T]: [.., T, T]. */
function gatedDecay(G: tf.Tensor): tf.Tensor {
  const t = G.shape[G.rank - 1]!;
  const diff = tf.sub(tf.expandDims(G, -1), tf.expandDims(G, -2));
  const mask = cachedConst(`causal-neg:${t}`, () => {
    const m = new Float32Array(t * t);
    for (let n = 0; n < t; n++) for (let j = n + 1; j < t; j++) m[n * t + j] = -1e9;
    return tf.tensor2d(m, [t, t]);
  });
  return tf.exp(tf.add(diff, mask)); // masked before exp: exp(-1e9 + ...) = 0
}

/**
 * Parallel gated retention: o_n = sum_{m<=n} exp(G_n - G_m) (q_n . k_m) v_m, G = cumsum(a).
 * q, k [B,H,T,Dk] (k already scaled), v [B,H,T,Dv], a [B,H,T] log-decays (< 0).
 */
export function gatedParallel(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, a: tf.Tensor): tf.Tensor4D {
  const scores = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), gatedDecay(cumsumLast(a)));
  return tf.matMul(scores as tf.Tensor4D, v as tf.Tensor4D);
}

/**
 * Chunkwise gated retention (chunk size c), equal to the parallel form: with g = cumsum of a within
 * the chunk, o_i = sum_{j<=i} exp(g_i - g_j)(q_i.k_j) v_j + exp(g_i) q_i S,
 * S <- exp(g_last) S + sum_j exp(g_last - g_j) k_j^T v_j.
 */
export function gatedChunkwise(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, a: tf.Tensor, c: number): tf.Tensor4D {
  const t = q.shape[2]!;
  const q5 = chunked(q, c), k5 = chunked(k, c), v5 = chunked(v, c);
  const g = cumsumLast(chunked(a, c)); // [B,H,n,c]
  const last = g.slice([0, 0, 0, c - 1], [-1, -1, -1, 1]); // [B,H,n,1]
  const inner = tf.matMul(tf.mul(tf.matMul(q5, k5, false, true), gatedDecay(g)), v5);
  const add = tf.matMul(k5, tf.mul(v5, tf.exp(tf.sub(last, g)).expandDims(-1)), true, false); // [B,H,n,Dk,Dv]
  const chunkDecay = tf.exp(last).expandDims(-1); // [B,H,n,1,1]
  const states = chunkStates(add, (i) => chunkDecay.slice([0, 0, i, 0, 0], [-1, -1, 1, -1, -1]).squeeze([2]));
  const cross = tf.matMul(tf.mul(q5, tf.exp(g).expandDims(-1)), states);
  return unchunked(tf.add(inner, cross), t);
}
