// The chunkwise forms of retention (long prompts: O(T c) time and memory): exact attention within each
// chunk of c tokens, a recurrent state across chunks. The sequence is zero-padded to a multiple of c.
import * as tf from '@tensorflow/tfjs';
import { cachedConst, detach } from '../../tensor-helpers.ts';
import { cumsumLast, gatedDecay, msrScale } from './decay.ts';

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
