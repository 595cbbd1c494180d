// Shared layers: parameters, linear, SwiGLU FFN, rotation tables, causal masks (the ops they run on, with
// their fast kernels, live in ops/). Every architecture is built from these; they differ only in the
// sequence mixer.
import * as tf from '@tensorflow/tfjs';
import { siluGate } from './ops/activation/index.ts';
import { matMul2d } from './ops/matmul/index.ts';
import { applyRotation } from './ops/rotation/index.ts';

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

/** SwiGLU FFN: down(silu(x W_gate) * (x W_up)); gate and up share one [d, 2f] matMul. */
export function swiglu(x: tf.Tensor, wGateUp: tf.Tensor, wDown: tf.Tensor): tf.Tensor {
  const f = wDown.shape[0];
  const gu = linear(x, wGateUp);
  return linear(siluGate(gu, f), wDown);
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
