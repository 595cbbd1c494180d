// Softmax attention and the head split/merge around it as plain tf ops: the references the wasm and webgpu
// kernels are held to (attention.test.ts, attention.webgpu.test.ts).
import * as tf from '@tensorflow/tfjs';
import { cachedConst } from '../../tensor-helpers.ts';

/** softmax(q k^T * scale + mask) v as batched tf ops. */
export function attendPlain(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D {
  let s = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), scale);
  if (mask) s = tf.add(s, mask);
  return tf.matMul(tf.softmax(s), v as tf.Tensor4D) as tf.Tensor4D;
}

/** Additive mask [n, b, 2b] for n query blocks over [previous block; own block]; block 0 has no previous block. */
export function blockMask(n: number, b: number): tf.Tensor {
  return cachedConst(`lex-block:${n}:${b}`, () => {
    const m = new Float32Array(n * b * 2 * b);
    for (let j = 0; j < n; j++) for (let r = 0; r < b; r++) for (let c = 0; c < 2 * b; c++) {
      if (c > b + r || (j === 0 && c < b)) m[(j * b + r) * 2 * b + c] = -1e9;
    }
    return tf.tensor3d(m, [n, b, 2 * b]);
  });
}

/**
 * LeX's block rule as one [b x 2b] attention per block of b queries: q [B,H,T,Dh] in n = ceil(T/b) blocks
 * [B*H,n,b,Dh] over keys [B*H,n,2b,Dh] = [kPrev's rows of the previous block; k's rows of the own block]
 * (block 0 has no previous block), causal within the own block; v [B,H,T,Dv] likewise. -> [B,H,T,Dv].
 * Rank 4: a rank-5 form of it failed on webgpu in the tests (a WGSL error: tfjs-webgpu has no vec5).
 */
export function attendBlocksPlain(q: tf.Tensor, k: tf.Tensor, kPrev: tf.Tensor, v: tf.Tensor, scale: number, b: number): tf.Tensor4D {
  const [bs, h, t] = q.shape as number[];
  const n = Math.ceil(t! / b);
  const blocks = (x: tf.Tensor) => tf.pad(x, [[0, 0], [0, 0], [0, n * b - t!], [0, 0]]).reshape([bs! * h!, n, b, x.shape[3]!]);
  const previous = (x: tf.Tensor) => {
    const cur = blocks(x);
    return tf.concat([tf.zerosLike(cur.slice([0, 0, 0, 0], [-1, 1, -1, -1])), cur.slice([0, 0, 0, 0], [-1, n - 1, -1, -1])], 1);
  };
  const keys = tf.concat([previous(kPrev), blocks(k)], 2), values = tf.concat([previous(v), blocks(v)], 2);
  const scores = tf.add(tf.mul(tf.matMul(blocks(q) as tf.Tensor4D, keys as tf.Tensor4D, false, true), scale), blockMask(n, b));
  const o = tf.matMul(tf.softmax(scores) as tf.Tensor4D, values as tf.Tensor4D);
  return o.reshape([bs!, h!, n * b, v.shape[3]!]).slice([0, 0, 0, 0], [-1, -1, t!, -1]) as tf.Tensor4D;
}

/** Diff's pairs of maps [B,2P,T,Dv] -> map 2p - λ map 2p+1, [B,P,T,Dv] (λ a scalar or [P]). */
export function mapDifferencePlain(perMap: tf.Tensor, lambda: tf.Tensor): tf.Tensor4D {
  const [b, maps, t, dv] = perMap.shape as number[];
  const pairs = perMap.reshape([b! * (maps! / 2), 2, t! * dv!]); // maps 2p, 2p+1 of pair p
  const map = (i: number) => pairs.slice([0, i, 0], [-1, 1, -1]).reshape([b!, maps! / 2, t!, dv!]);
  return tf.sub(map(0), tf.mul(lambda.reshape([1, -1, 1, 1]), map(1))) as tf.Tensor4D;
}

/** [B, T, H*Dh] -> [B, H, T, Dh]: a reshape and a transpose. */
export function splitHeadsPlain(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape as [number, number, number];
  return x.reshape([b, t, heads, d / heads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] -> [B, T, H*Dh]: a transpose and a reshape. */
export function mergeHeadsPlain(x: tf.Tensor): tf.Tensor3D {
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  return x.transpose([0, 2, 1, 3]).reshape([b, t, h * dh]) as tf.Tensor3D;
}
