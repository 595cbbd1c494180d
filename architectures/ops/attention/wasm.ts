// Softmax attention on the wasm backend (per head on XNNPACK or the native GEMM, in query blocks that
// skip masked keys, as one op with one gradient op) and the head split/merge by JS copies.
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { fastBackend } from '../fast-path.ts';
import { type WasmBackend, alloc, isTable, nativeGemm, off, product, scratch, softmaxRows } from '../wasm-backend.ts';

/**
 * For each query row of an additive mask [T, S], one past the last key it can see: keys beyond it get
 * exactly zero probability (their logits are <= -1e8, so exp underflows to 0 in float32), so they can be
 * skipped. A row that sees no key keeps all of them (the plain softmax is then uniform). Cached per mask.
 */
const visibleEnds = new WeakMap<tf.Tensor, Int32Array>();
function keyEnds(be: WasmBackend, mask: tf.Tensor | null, t: number, s: number): Int32Array {
  if (!mask) return new Int32Array(t).fill(s);
  let ends = visibleEnds.get(mask);
  if (ends) return ends;
  ends = new Int32Array(t);
  const h = be.wasm.HEAPF32, mo = off(be, mask);
  for (let i = 0; i < t; i++) {
    let e = s;
    while (e > 0 && h[mo + i * s + e - 1]! <= -1e8) e--;
    ends[i] = e === 0 ? s : e;
  }
  visibleEnds.set(mask, ends);
  return ends;
}

/** Query rows [r0, r1) and the keys [0, keys) they need; blocks of about a quarter of T (>= 32 rows). */
interface Chunk { r0: number; r1: number; keys: number; p: number }
function planChunks(ends: Int32Array, t: number): { chunks: Chunk[]; pSize: number } {
  const rows = t <= 32 ? t : Math.max(32, Math.ceil(t / 4));
  const chunks: Chunk[] = [];
  let p = 0;
  for (let r0 = 0; r0 < t; r0 += rows) {
    const r1 = Math.min(t, r0 + rows);
    let keys = 0;
    for (let i = r0; i < r1; i++) keys = Math.max(keys, ends[i]!);
    chunks.push({ r0, r1, keys, p });
    p += (r1 - r0) * keys;
  }
  return { chunks, pSize: p };
}

/**
 * softmax(q k^T * scale + mask) v per (batch, head) on XNNPACK, as one op with one gradient op.
 * q [B,H,T,Dh], k [B,H,S,Dh], v [B,H,S,Dv], mask [T,S] (constant) or null. Query rows go in blocks, each
 * against only the keys its rows can see (with a causal mask about 3/8 of the products are skipped); the
 * probabilities are kept per block for the gradient.
 */
export function attendWasm(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D | null {
  const be = mask ? fastBackend(q, k, v, mask) : fastBackend(q, k, v);
  if (!be || q.rank !== 4 || k.rank !== 4 || v.rank !== 4) return null;
  const [b, hq, t, dh] = q.shape as [number, number, number, number];
  const [bk, hk, s, dk] = k.shape as [number, number, number, number];
  const [bv, hv, sv, dv] = v.shape as [number, number, number, number];
  if (bk !== b || bv !== b || hk !== hq || hv !== hq || dk !== dh || sv !== s || t === 0 || s === 0) return null;
  if (mask && (!isTable(mask, t, s) || mask.dtype !== 'float32')) return null;
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return null;
  const bh = b * hq;
  const { chunks, pSize } = planChunks(keyEnds(be, mask, t, s), t);
  const maxRows = chunks[0]!.r1 - chunks[0]!.r0;

  const forward = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor): { o: tf.Tensor; p: tf.Tensor } => {
    const out = alloc(be, [b, hq, t, dv]);
    const p = alloc(be, [bh * pSize]);
    const sc = scratch(be, maxRows * s);
    const qo = off(be, qs), ko = off(be, ks), vo = off(be, vs), mo = mask ? off(be, mask) : -1;
    for (let i = 0; i < bh; i++) {
      const qi = qo + i * t * dh, ki = ko + i * s * dh, vi = vo + i * s * dv, oi = out.o + i * t * dv, pi = p.o + i * pSize;
      for (const c of chunks) {
        const rows = c.r1 - c.r0, n = c.keys;
        if (rows === 1) product(be, ki, false, qi + c.r0 * dh, false, n, dh, 1, sc); // scores as a column: K q^T
        else product(be, qi + c.r0 * dh, false, ki, true, rows, dh, n, sc); // Q K^T
        const h = be.wasm.HEAPF32, native = nativeGemm();
        const mrow = mo >= 0 ? mo + c.r0 * s : -1;
        if (native) native.scaleMaskRows(h.buffer, sc, mrow, rows, n, s, scale);
        else scaleMaskRowsJs(h, sc, mrow, rows, n, s, scale);
        softmaxRows(be, sc, pi + c.p, rows, n);
        product(be, pi + c.p, false, vi, false, rows, n, dv, oi + c.r0 * dv); // P V
      }
    }
    be.wasm._free(sc << 2);
    return { o: out.t, p: p.t };
  };

  const backward = (dO: tf.Tensor, qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, ps: tf.Tensor): tf.Tensor[] => {
    const dq = alloc(be, qs.shape), dkk = alloc(be, ks.shape), dvv = alloc(be, vs.shape);
    const dp = scratch(be, maxRows * s);
    const qo = off(be, qs), ko = off(be, ks), vo = off(be, vs), po = off(be, ps), go = off(be, dO);
    be.wasm.HEAPF32.fill(0, dkk.o, dkk.o + bh * s * dh);
    be.wasm.HEAPF32.fill(0, dvv.o, dvv.o + bh * s * dv);
    for (let i = 0; i < bh; i++) {
      const qi = qo + i * t * dh, ki = ko + i * s * dh, vi = vo + i * s * dv, gi = go + i * t * dv, pi = po + i * pSize;
      const dqi = dq.o + i * t * dh, dki = dkk.o + i * s * dh, dvi = dvv.o + i * s * dv;
      for (const c of chunks) {
        const rows = c.r1 - c.r0, n = c.keys, pc = pi + c.p;
        product(be, gi + c.r0 * dv, false, vi, true, rows, dv, n, dp); // dP = dO V^T
        const h = be.wasm.HEAPF32, native = nativeGemm();
        if (native) native.softmaxGradRows(h.buffer, pc, dp, rows, n, scale); // dS = (P*dP - rowsum(P*dP) * P) * scale
        else softmaxGradRowsJs(h, pc, dp, rows, n, scale);
        product(be, dp, false, ki, false, rows, n, dh, dqi + c.r0 * dh); // dQ = dS K
        product(be, dp, true, qi + c.r0 * dh, false, n, rows, dh, dki, true); // dK += dS^T Q
        product(be, pc, true, gi + c.r0 * dv, false, n, rows, dv, dvi, true); // dV += P^T dO
      }
    }
    be.wasm._free(dp << 2);
    return [dq.t, dkk.t, dvv.t];
  };

  const f = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, save: tf.GradSaveFunc) => {
    const { o, p } = forward(qs, ks, vs);
    save([qs, ks, vs, p]);
    return { value: o, gradFunc: (dy: tf.Tensor, sv2: tf.Tensor[]) => backward(dy, sv2[0]!, sv2[1]!, sv2[2]!, sv2[3]!) };
  }) as unknown as GradFunc);
  return f(q, k, v) as tf.Tensor4D;
}

/** The logits before the softmax, in place, s [rows, n]: s = fround(s scale) + mask (rows maskStride apart; -1: none). */
export function scaleMaskRowsJs(h: Float32Array, so: number, mo: number, rows: number, n: number, maskStride: number, scale: number): void {
  for (let r = 0; r < rows; r++) {
    const row = so + r * n;
    if (mo >= 0) {
      const mrow = mo + r * maskStride;
      for (let j = 0; j < n; j++) h[row + j] = Math.fround(h[row + j]! * scale) + h[mrow + j]!;
    } else {
      for (let j = 0; j < n; j++) h[row + j] = h[row + j]! * scale;
    }
  }
}

/** The softmax and scale gradients, into dp: dS = (P*dP - rowsum(P*dP) * P) * scale over rows of P, dP [rows, n]. */
export function softmaxGradRowsJs(h: Float32Array, po: number, dpo: number, rows: number, n: number, scale: number): void {
  for (let r = 0; r < rows; r++) {
    const pr = po + r * n, dr = dpo + r * n;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.fround(h[pr + j]! * h[dr + j]!);
    const fs = Math.fround(sum);
    for (let j = 0; j < n; j++) {
      const pv = h[pr + j]!;
      h[dr + j] = Math.fround(Math.fround(pv * h[dr + j]!) - Math.fround(fs * pv)) * scale;
    }
  }
}

/** [B, T, H*Dh] <-> [B, H, T, Dh] by JS copies. `toHeads` chooses the direction. */
function headsRaw(be: WasmBackend, x: tf.Tensor, heads: number, toHeads: boolean): tf.Tensor {
  let b: number, t: number, dh: number;
  if (toHeads) {
    [b, t] = x.shape as [number, number, number];
    dh = x.shape[2]! / heads;
  } else {
    [b, , t, dh] = x.shape as [number, number, number, number];
  }
  const d = heads * dh;
  const { t: out, o } = alloc(be, toHeads ? [b, heads, t, dh] : [b, t, d]);
  const xo = off(be, x), hp = be.wasm.HEAPF32;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < heads; hi++) {
      for (let ti = 0; ti < t; ti++) {
        const flat = (bi * t + ti) * d + hi * dh; // [B, T, H*Dh]
        const split = ((bi * heads + hi) * t + ti) * dh; // [B, H, T, Dh]
        if (toHeads) hp.copyWithin(o + split, xo + flat, xo + flat + dh);
        else hp.copyWithin(o + flat, xo + split, xo + split + dh);
      }
    }
  }
  return out;
}

/** Split heads [B, T, H*Dh] -> [B, H, T, Dh] (fast path; gradient: merge). */
export function splitHeadsWasm(x: tf.Tensor, heads: number): tf.Tensor4D | null {
  const be = fastBackend(x);
  if (!be || x.rank !== 3 || x.dtype !== 'float32' || x.shape[2]! % heads !== 0) return null;
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: headsRaw(be, a, heads, true),
    gradFunc: (dy: tf.Tensor) => mergeHeadsWasm(dy) ?? tf.transpose(dy, [0, 2, 1, 3]).reshape(a.shape),
  })) as unknown as GradFunc);
  return f(x) as tf.Tensor4D;
}

/** Merge heads [B, H, T, Dh] -> [B, T, H*Dh] (fast path; gradient: split). */
export function mergeHeadsWasm(x: tf.Tensor): tf.Tensor3D | null {
  const be = fastBackend(x);
  if (!be || x.rank !== 4 || x.dtype !== 'float32') return null;
  const heads = x.shape[1]!;
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: headsRaw(be, a, heads, false),
    gradFunc: (dy: tf.Tensor) => splitHeadsWasm(dy, heads) ?? tf.transpose(dy.reshape([a.shape[0]!, a.shape[2]!, heads, a.shape[3]!]), [0, 2, 1, 3]),
  })) as unknown as GradFunc);
  return f(x) as tf.Tensor3D;
}
