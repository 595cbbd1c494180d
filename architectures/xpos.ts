// xPos (torchscale XPOS), as the reference computes it:
//   zeta_j = (2j + 0.4 D) / (1.4 D),  scale[p, j] = zeta_j^(p / scale_base),  p = min_pos .. max_pos-1
//   min_pos = floor(-(L + offset) / 2),  max_pos = L + offset + min_pos
//   sin/cos[i, j] = sin/cos(i * 10000^(-j / (D/2))),  i = 0 .. L+offset-1  (i, not p)
//   offset > 0: keep the last L rows; downscale: scale -> 1/scale
//   out = x ⊙ dup(cos ⊙ scale) + rotate_every_two(x) ⊙ dup(sin ⊙ scale)
// Queries use offset 0 (offset src_len-1 when decoding) and upscale; keys offset 0 and downscale, so
// q_n . k_m carries zeta^((n-m)/scale_base): only relative positions matter.
import * as tf from '@tensorflow/tfjs';
import { dupColumns } from './layers.ts';
import { applyRotation } from './ops/rotation/index.ts';

export interface XposTables {
  /** [rows, D/2] each, row-major (the reference's tables before dup and before downscale). */
  scale: Float32Array;
  sin: Float32Array;
  cos: Float32Array;
  rows: number;
}

export class Xpos {
  private readonly cache = new Map<string, { cos: tf.Tensor2D; sin: tf.Tensor2D }>();
  readonly half: number;
  constructor(readonly dim: number, readonly scaleBase = 512) {
    if (dim % 2 !== 0) throw new Error(`xPos needs an even head dimension, got ${dim}`);
    this.half = dim / 2;
  }

  /** zeta_j = (2j + 0.4 D) / (1.4 D). */
  zeta(j: number): number {
    return (2 * j + 0.4 * this.dim) / (1.4 * this.dim);
  }

  /**
   * The reference's tables for a length-`len` input at `offset` (the last `len` rows). `total` fixes the
   * centre of the scale exponents (min_pos = floor(-total / 2)); the reference's is len + offset. Queries
   * and keys must share it for q.k to depend on n - m only.
   */
  tables(len: number, offset: number, total = len + offset): XposTables {
    const half = this.half;
    const minPos = Math.floor(-total / 2);
    const scale = new Float32Array(len * half), sin = new Float32Array(len * half), cos = new Float32Array(len * half);
    for (let r = 0; r < len; r++) {
      const i = offset + r; // row index within 0 .. total-1
      for (let j = 0; j < half; j++) {
        const angle = i * Math.pow(10000, -j / half);
        scale[r * half + j] = Math.pow(this.zeta(j), (minPos + i) / this.scaleBase);
        sin[r * half + j] = Math.sin(angle);
        cos[r * half + j] = Math.cos(angle);
      }
    }
    return { scale, sin, cos, rows: len };
  }

  /** dup(cos ⊙ scale^±1) and dup(sin ⊙ scale^±1), [len, D], cached (kept outside tidy scopes). */
  private rotation(len: number, offset: number, downscale: boolean, total: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
    const key = `${len}:${offset}:${total}:${downscale ? 1 : 0}`;
    let r = this.cache.get(key);
    if (!r) {
      const t = this.tables(len, offset, total);
      const c = new Float32Array(t.cos.length), s = new Float32Array(t.sin.length);
      for (let i = 0; i < c.length; i++) {
        const z = downscale ? 1 / t.scale[i]! : t.scale[i]!;
        c[i] = t.cos[i]! * z;
        s[i] = t.sin[i]! * z;
      }
      r = {
        cos: tf.keep(tf.tensor2d(dupColumns(c, len, this.half), [len, this.dim])),
        sin: tf.keep(tf.tensor2d(dupColumns(s, len, this.half), [len, this.dim])),
      };
      this.cache.set(key, r);
    }
    return r;
  }

  /**
   * x [..., L, D] at positions offset.. -> xPos-rotated and scaled x (upscale for queries, downscale for
   * keys); `total` as in tables() (default: the reference's L + offset).
   */
  apply(x: tf.Tensor, offset: number, downscale: boolean, total?: number): tf.Tensor {
    const len = x.shape[x.rank - 2]!;
    const { cos, sin } = this.rotation(len, offset, downscale, total ?? len + offset);
    return applyRotation(x, cos, sin);
  }
}
