// Shared layers: parameters, linear, RMSNorm, SwiGLU FFN, embeddings, interleaved rotations.
// Every architecture is built from these; they differ only in the sequence mixer.
import * as tf from '@tensorflow/tfjs';
import { gatherRowsFast, matMul2dFast, mayNeedGradient, mergeHeadsFast, rmsNormFast, rotateFast, siluGateFast, splitHeadsFast, transposeLast } from './fastpath.ts';

/** Deterministic 32-bit hash of a string (FNV-1a), used to derive per-parameter seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export type Init = { kind: 'normal'; std: number } | { kind: 'ones' } | { kind: 'zeros' } | { kind: 'uniform'; limit: number };

/**
 * How random matrices are initialised: 'native' as each layer asks (N(0, 0.02), out-projections scaled by
 * depth); 'torch' as PyTorch's module defaults (nn.Embedding: N(0, 1) for lookup tables; nn.Linear:
 * U(+-1/sqrt(fan_in)) for every other matrix). Vectors (norm gains, lambdas) keep their own init either way.
 */
export type InitScheme = 'native' | 'torch';

/** A flat, named set of trainable variables. Names are stable; they key checkpoints. */
export class Params {
  readonly vars = new Map<string, tf.Variable>();
  /** Names of parameters that are embeddings or the output head (excluded from "non-embedding"). */
  readonly embeddingNames = new Set<string>();
  readonly shapes = new Map<string, number[]>();
  private dummy?: tf.Variable;
  /** A dry Params records shapes only (for counting parameters); every add returns one scalar placeholder. */
  constructor(readonly seed: number, readonly dry = false, readonly scheme: InitScheme = 'native') {}

  /** lookup: an embedding table read by row (initialised as nn.Embedding under the 'torch' scheme). */
  add(name: string, shape: number[], init: Init, opts: { embedding?: boolean; lookup?: boolean } = {}): tf.Variable {
    if (this.shapes.has(name)) throw new Error(`duplicate parameter ${name}`);
    if (this.scheme === 'torch' && shape.length === 2 && init.kind === 'normal') {
      init = opts.lookup ? { kind: 'normal', std: 1 } : { kind: 'uniform', limit: 1 / Math.sqrt(shape[0]!) };
    }
    this.shapes.set(name, shape);
    if (opts.embedding) this.embeddingNames.add(name);
    if (this.dry) return (this.dummy ??= tf.variable(tf.scalar(0), false));
    const seed = (hashString(name) ^ Math.imul(this.seed + 1, 0x9e3779b1)) >>> 0;
    const value = tf.tidy(() => {
      switch (init.kind) {
        case 'normal': return tf.randomNormal(shape, 0, init.std, 'float32', seed);
        case 'uniform': return tf.randomUniform(shape, -init.limit, init.limit, 'float32', seed);
        case 'ones': return tf.ones(shape);
        case 'zeros': return tf.zeros(shape);
      }
    });
    const v = tf.variable(value, true, `${name}_${this.seed}_${Math.random().toString(36).slice(2, 8)}`);
    value.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  count(): { total: number; nonEmbedding: number } {
    let total = 0, emb = 0;
    for (const [n, shape] of this.shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      total += size;
      if (this.embeddingNames.has(n)) emb += size;
    }
    return { total, nonEmbedding: total - emb };
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.dummy?.dispose();
  }
}

/** The function type tf.customGrad takes (its inputs and a save callback). */
export type GradFunc = Parameters<typeof tf.customGrad>[0];

/**
 * y = x W, 2-D only and without transpose flags, in the forward and in the gradient, so that the
 * wasm backend's XNNPACK fast path serves all three products (it ignores transposed/batched ones).
 * The gradient's transposes are explicit (JS loops on wasm: the backend's Transpose is slow).
 */
export const matMul2d = (x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => matMul2dFast(x, w) ?? matMul2dPlain(x, w);

/** matMul2d as plain tf ops (the reference for the fast path). */
export const matMul2dPlain = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)];
    },
  };
}) as unknown as GradFunc) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** Linear map over the last axis: x [..., in] @ W [in, out] -> [..., out]. No bias. */
export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const inDim = w.shape[0], outDim = w.shape[1]!;
  const lead = x.shape.slice(0, -1);
  return matMul2d(x.reshape([-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D).reshape([...lead, outDim]);
}

/** Add a bias-free linear weight [in, out], initialised N(0, std) (default 0.02; out-projections scaled by depth). */
export function addLinear(p: Params, name: string, inDim: number, outDim: number, std = 0.02): tf.Variable {
  return p.add(name, [inDim, outDim], { kind: 'normal', std });
}

/** RMSNorm_eps(z) = z / sqrt(mean(z^2) + eps), times a weight when given. Over the last axis. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor {
  return rmsNormFast(x, weight, eps) ?? rmsNormPlain(x, weight, eps);
}

/** rmsNorm as plain tf ops (the reference for the fast path). */
export function rmsNormPlain(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor {
  const normed = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
  return weight ? tf.mul(normed, weight) : normed;
}

export const silu = (z: tf.Tensor): tf.Tensor => tf.mul(z, tf.sigmoid(z));

/** SwiGLU FFN: down(silu(x W_gate) * (x W_up)); gate and up share one [d, 2f] matMul. */
export function swiglu(x: tf.Tensor, wGateUp: tf.Tensor, wDown: tf.Tensor): tf.Tensor {
  const f = wDown.shape[0];
  const gu = linear(x, wGateUp);
  return linear(siluGate(gu, f), wDown);
}

/** silu(g) * u where gu = [g | u] along the last axis, each of width f. */
export function siluGate(gu: tf.Tensor, f: number): tf.Tensor {
  if (gu.shape[gu.rank - 1] === 2 * f) {
    const fast = siluGateFast(gu);
    if (fast) return fast;
  }
  return siluGatePlain(gu, f);
}

/** siluGate as plain tf ops (the reference for the fast path). */
export function siluGatePlain(gu: tf.Tensor, f: number): tf.Tensor {
  const [g, u] = tf.split(gu, [f, f], -1);
  return tf.mul(silu(g!), u!);
}

/**
 * Embedding lookup. Forward: gather. Gradient: a scatter-add of dy into the table's rows (JS on wasm),
 * else onehot^T @ dy as one 2-D matMul: the wasm backend has no UnsortedSegmentSum (gather's own gradient).
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const dim = table.shape[1];
  const fast = gatherRowsFast(table, ids);
  return (fast ?? embedRowsPlain(table, ids)).reshape([...ids.shape, dim]);
}

/** embed's lookup as plain tf ops: gather, with a one-hot matMul gradient. Returns [N, D]. */
export function embedRowsPlain(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D {
  const vocab = table.shape[0];
  const flat = ids.reshape([-1]) as tf.Tensor1D;
  const lookup = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([flat]);
    return {
      value: tf.gather(t, flat),
      // oneHot then cast: the wasm backend's OneHot ignores dtype 'float32' (it writes int32 bits).
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [tf.matMul(transposeLast(tf.cast(tf.oneHot(saved[0] as tf.Tensor1D, vocab), 'float32')) as tf.Tensor2D, dy)],
    };
  }) as unknown as GradFunc);
  return lookup(table) as tf.Tensor2D;
}

/** rotate_every_two([a0,a1,a2,a3,...]) = [-a1, a0, -a3, a2, ...] over the last axis. */
export function rotateEveryTwo(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1]!;
  const pairs = x.reshape([...x.shape.slice(0, -1), d / 2, 2]);
  const [a, b] = tf.unstack(pairs, -1);
  return tf.stack([tf.neg(b!), a!], -1).reshape(x.shape);
}

/** Interleaved (GPT-J) rotation: out = x * cosDup + rotate_every_two(x) * sinDup; tables [T, d] broadcast. */
export function applyRotation(x: tf.Tensor, cosDup: tf.Tensor, sinDup: tf.Tensor): tf.Tensor {
  if (!mayNeedGradient(cosDup) && !mayNeedGradient(sinDup)) {
    const fast = rotateFast(x, cosDup, sinDup);
    if (fast) return fast;
  }
  return applyRotationPlain(x, cosDup, sinDup);
}

/** applyRotation as plain tf ops (the reference for the fast path). */
export function applyRotationPlain(x: tf.Tensor, cosDup: tf.Tensor, sinDup: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, cosDup), tf.mul(rotateEveryTwo(x), sinDup));
}

/** dup([c0,c1,...]) = [c0,c0,c1,c1,...] for a row-major [rows, half] table, as a Float32Array [rows, 2*half]. */
export function dupColumns(table: Float32Array, rows: number, half: number): Float32Array {
  const out = new Float32Array(rows * half * 2);
  for (let r = 0; r < rows; r++) for (let i = 0; i < half; i++) {
    out[r * half * 2 + 2 * i] = out[r * half * 2 + 2 * i + 1] = table[r * half + i]!;
  }
  return out;
}

/** Angles of RoPE: theta_i = base^(-2i/d), i < d/2 (the peer script's and LLaMA's convention). */
export function ropeAngles(dim: number, base = 10000): Float32Array {
  const a = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) a[i] = Math.pow(base, -(2 * i) / dim);
  return a;
}

/** cos/sin tables [len, dim] (interleaved) for positions start..start+len-1 and the given angles. */
export function rotationTables(angles: Float32Array, start: number, len: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = angles.length;
  const c = new Float32Array(len * half), s = new Float32Array(len * half);
  for (let n = 0; n < len; n++) for (let i = 0; i < half; i++) {
    c[n * half + i] = Math.cos((start + n) * angles[i]!);
    s[n * half + i] = Math.sin((start + n) * angles[i]!);
  }
  return {
    cos: tf.tensor2d(dupColumns(c, len, half), [len, 2 * half]),
    sin: tf.tensor2d(dupColumns(s, len, half), [len, 2 * half]),
  };
}

/** Split heads: [B, T, H*Dh] -> [B, H, T, Dh]. */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  return splitHeadsFast(x, heads) ?? splitHeadsPlain(x, heads);
}

/** splitHeads as plain tf ops (the reference for the fast path). */
export function splitHeadsPlain(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape as [number, number, number];
  return x.reshape([b, t, heads, d / heads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** Merge heads: [B, H, T, Dh] -> [B, T, H*Dh]. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  return mergeHeadsFast(x) ?? mergeHeadsPlain(x);
}

/** mergeHeads as plain tf ops (the reference for the fast path). */
export function mergeHeadsPlain(x: tf.Tensor): tf.Tensor3D {
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  return x.transpose([0, 2, 1, 3]).reshape([b, t, h * dh]) as tf.Tensor3D;
}

/** Additive causal mask [T, S]: 0 where key s <= query t + offset, -1e9 elsewhere (offset = S - T). */
export function causalMask(t: number, s: number, window = 0): tf.Tensor2D {
  const m = new Float32Array(t * s);
  const offset = s - t;
  for (let i = 0; i < t; i++) for (let j = 0; j < s; j++) {
    const q = i + offset;
    const visible = j <= q && (window <= 0 || q - j < window);
    m[i * s + j] = visible ? 0 : -1e9;
  }
  return tf.tensor2d(m, [t, s]);
}

/** Rotation tables for one angle set, cached for prefixes starting at 0 (kept outside tidy scopes). */
export class RotationCache {
  private readonly prefix = new Map<number, { cos: tf.Tensor2D; sin: tf.Tensor2D }>();
  constructor(readonly angles: Float32Array) {}
  tables(start: number, len: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
    if (start !== 0) return rotationTables(this.angles, start, len);
    let t = this.prefix.get(len);
    if (!t) {
      t = tf.tidy(() => rotationTables(this.angles, 0, len));
      tf.keep(t.cos);
      tf.keep(t.sin);
      this.prefix.set(len, t);
    }
    return t;
  }
  rotate(x: tf.Tensor, start: number): tf.Tensor {
    const { cos, sin } = this.tables(start, x.shape[x.shape.length - 2]!);
    return applyRotation(x, cos, sin);
  }
}

/** Masks of at most this many elements (4 MiB) are cached; larger ones are built per call. */
export const MASK_CACHE_LIMIT = 1 << 20;

/**
 * Causal masks, cached by shape and window (kept outside tidy scopes) when t * s <= MASK_CACHE_LIMIT.
 * A larger mask (T x T at 4k is 64 MiB) is built afresh and belongs to the caller (its tidy, or dispose
 * it when t * s > MASK_CACHE_LIMIT).
 */
const maskCache = new Map<string, tf.Tensor2D>();
export function cachedCausalMask(t: number, s: number, window = 0): tf.Tensor2D {
  if (t * s > MASK_CACHE_LIMIT) return causalMask(t, s, window);
  const key = `${t}x${s}w${window}`;
  let m = maskCache.get(key);
  if (!m) {
    m = tf.keep(causalMask(t, s, window));
    maskCache.set(key, m);
  }
  return m;
}
