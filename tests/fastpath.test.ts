// Every wasm fast path against the plain tf implementation: values and gradients within 1e-5 relative
// (max |fast - plain| <= 1e-5 * max |plain|), and the replaced data-movement kernels bit for bit.
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attend, attendPlain, causalAttend } from '../architectures/attention.ts';
import { fastPathEnabled, setFastPath, setNativeGemm } from '../architectures/fastpath.ts';
import { getArchitecture } from '../architectures/index.ts';
import * as L from '../architectures/layers.ts';
import { Params } from '../architectures/layers.ts';
import { tokenNll, tokenNllPlain } from '../harness/train/step.ts';
import { CPU_BACKENDS, NATIVE_GEMM, useBackend } from './helpers.ts';

const TOL = 1e-5;

beforeAll(async () => {
  await useBackend('wasm');
});

afterEach(() => {
  setFastPath(true);
});

/** max |a - b| / max |b| over all elements (0 when both are all zero). */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync(), y = b.dataSync();
  let diff = 0, scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Value and gradients (w.r.t. xs) of sum(f(xs) * probe), with the fast paths on or off. */
function valueAndGrads(fast: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const prev = setFastPath(fast);
  try {
    return tf.tidy(() => {
      const value = f(...xs);
      const probe = tf.randomNormal(value.shape, 0, 1, 'float32', 99);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), probe)))(xs);
      return [value, ...grads];
    });
  } finally {
    setFastPath(prev);
  }
}

/** Fast vs a reference (default: the same function with the fast paths off): every output within TOL. */
function expectAgree(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], reference?: (...xs: tf.Tensor[]) => tf.Tensor): number[] {
  const fast = valueAndGrads(true, f, xs);
  const plain = valueAndGrads(false, reference ?? f, xs);
  const errs = fast.map((t, i) => relErr(t, plain[i]!));
  for (const e of errs) expect(e).toBeLessThanOrEqual(TOL);
  tf.dispose([...fast, ...plain]);
  return errs;
}

const rnd = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed);

describe.each(CPU_BACKENDS)('fast paths agree with the plain implementation (values and gradients, 1e-5 relative) on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await useBackend('wasm');
  });

  it('is on by default on wasm, with the native GEMM exactly on wasm+openblas', () => {
    expect(fastPathEnabled()).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    const gemm = setNativeGemm(null);
    setNativeGemm(gemm);
    expect(gemm !== null).toBe(backend === 'wasm+openblas');
  });

  it('matMul2d / linear vs tf.matMul with its own (transposed) gradient', () => {
    const x = rnd([37, 24], 1), w = rnd([24, 40], 2);
    expectAgree((a, b) => L.matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), [x, w], (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D));
    const x3 = rnd([3, 11, 24], 3);
    expectAgree((a, b) => L.linear(a, b), [x3, w], (a, b) => tf.matMul(a.reshape([-1, 24]), b).reshape([3, 11, 40]));
  });

  it('rmsNorm with and without a weight', () => {
    const x = rnd([2, 9, 32], 4), g = rnd([32], 5);
    expectAgree((a, b) => L.rmsNorm(a, b, 1e-6), [x, g], (a, b) => L.rmsNormPlain(a, b, 1e-6));
    expectAgree((a) => L.rmsNorm(a, null, 1e-5), [x], (a) => L.rmsNormPlain(a, null, 1e-5));
  });

  it('SwiGLU gate (silu(g) * u) and the whole FFN', () => {
    const gu = rnd([2, 7, 48], 6);
    expectAgree((a) => L.siluGate(a, 24), [gu], (a) => L.siluGatePlain(a, 24));
    const x = rnd([2, 7, 16], 7), w1 = rnd([16, 48], 8, 0.3), w2 = rnd([24, 16], 9, 0.3);
    expectAgree((a, b, c) => L.swiglu(a, b, c), [x, w1, w2]);
  });

  it('embedding: gather with a scatter-add gradient vs tf.gather and its own gradient (cpu backend)', async () => {
    const ids = [[3, 0, 7, 7], [1, 3, 3, 9]];
    const table = Array.from({ length: 10 * 6 }, (_, i) => Math.sin(i * 1.7));
    const probe = Array.from({ length: 2 * 4 * 6 }, (_, i) => Math.cos(i * 0.3));
    const run = (useGather: boolean) => tf.tidy(() => {
      const t = tf.tensor2d(table, [10, 6]), p = tf.tensor3d(probe, [2, 4, 6]), i = tf.tensor2d(ids, [2, 4], 'int32');
      const f = (a: tf.Tensor) => (useGather ? tf.gather(a, i) : L.embed(a as tf.Tensor2D, i));
      const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), p)))([t]);
      return [Array.from(f(t).dataSync()), Array.from(g!.dataSync())];
    });
    const fast = run(false);
    setFastPath(false);
    const plainWasm = run(false); // the one-hot matMul gradient (the wasm OneHot ignores dtype float32: cast)
    setFastPath(true);
    await tf.setBackend('cpu');
    let reference: number[][];
    try {
      reference = run(true);
    } finally {
      await tf.setBackend('wasm');
    }
    for (const candidate of [fast, plainWasm]) {
      for (let k = 0; k < 2; k++) {
        const scale = Math.max(...reference[k]!.map(Math.abs));
        const diff = Math.max(...candidate[k]!.map((v, j) => Math.abs(v - reference[k]![j]!)));
        expect(diff / scale).toBeLessThanOrEqual(TOL);
      }
    }
  });

  it('rotation (RoPE tables, and general [T, D] tables)', () => {
    const x = rnd([2, 3, 8, 16], 10);
    const cache = new L.RotationCache(L.ropeAngles(16));
    const { cos, sin } = cache.tables(0, 8);
    expectAgree((a) => L.applyRotation(a, cos, sin), [x], (a) => L.applyRotationPlain(a, cos, sin));
    const c2 = rnd([8, 16], 11), s2 = rnd([8, 16], 12);
    expectAgree((a) => L.applyRotation(a, c2, s2), [x], (a) => L.applyRotationPlain(a, c2, s2));
    // decode-time tables at an offset
    const x1 = rnd([2, 3, 1, 16], 13);
    const t5 = cache.tables(5, 1);
    expectAgree((a) => L.applyRotation(a, t5.cos, t5.sin), [x1], (a) => L.applyRotationPlain(a, t5.cos, t5.sin));
  });

  it('rotation tables that carry a gradient take the plain path and get their gradient', () => {
    const x = rnd([1, 2, 4, 8], 14), c = tf.variable(rnd([4, 8], 15)), s = tf.variable(rnd([4, 8], 16));
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(L.applyRotation(a, b, d)))([x, c, s]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(L.applyRotationPlain(a, b, d)))([x, c, s]);
    for (let i = 0; i < 3; i++) expect(relErr(g[i]!, ref[i]!)).toBeLessThanOrEqual(TOL);
    expect(tf.sum(tf.abs(g[1]!)).dataSync()[0]).toBeGreaterThan(0);
  });

  it('split/merge heads', () => {
    const x = rnd([2, 5, 12], 17);
    expectAgree((a) => L.splitHeads(a, 3), [x], (a) => L.splitHeadsPlain(a, 3));
    const y = rnd([2, 3, 5, 4], 18);
    expectAgree((a) => L.mergeHeads(a), [y], (a) => L.mergeHeadsPlain(a));
  });

  it('attention: causal, windowed, no mask, a KV cache (T < S), one query, and a general mask', () => {
    const q = rnd([2, 3, 9, 8], 19), k = rnd([2, 3, 9, 8], 20), v = rnd([2, 3, 9, 6], 21);
    const scale = 1 / Math.sqrt(8);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(9, 9)));
    expectAgree((a, b, c) => causalAttend(a, b, c, scale, 4), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(9, 9, 4)));
    expectAgree((a, b, c) => attend(a, b, c, scale, null), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const q2 = rnd([2, 3, 4, 8], 22);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q2, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(4, 9)));
    const q1 = rnd([2, 3, 1, 8], 23);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q1, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const m = rnd([9, 9], 24);
    expectAgree((a, b, c) => attend(a, b, c, scale, m), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, m));
  });

  it('attention in query blocks that skip masked keys (T > 32): causal, windowed, offset, no mask', () => {
    const q = rnd([1, 2, 70, 16], 40), k = rnd([1, 2, 70, 16], 41), v = rnd([1, 2, 70, 8], 42);
    const scale = 0.25;
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(70, 70)));
    expectAgree((a, b, c) => causalAttend(a, b, c, scale, 20), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(70, 70, 20)));
    expectAgree((a, b, c) => attend(a, b, c, scale, null), [q, k, v], (a, b, c) => attendPlain(a, b, c, scale, null));
    const q2 = rnd([1, 2, 40, 16], 43);
    expectAgree((a, b, c) => causalAttend(a, b, c, scale), [q2, k, v], (a, b, c) => attendPlain(a, b, c, scale, L.causalMask(40, 70)));
  });

  it('attention with a mask that carries a gradient takes the plain path', () => {
    const q = rnd([1, 2, 5, 4], 25), k = rnd([1, 2, 5, 4], 26), v = rnd([1, 2, 5, 4], 27), m = tf.variable(rnd([5, 5], 28));
    const g = tf.grads((a: tf.Tensor) => tf.sum(attend(q, k, v, 0.5, a)))([m]);
    const ref = tf.grads((a: tf.Tensor) => tf.sum(attendPlain(q, k, v, 0.5, a)))([m]);
    expect(relErr(g[0]!, ref[0]!)).toBeLessThanOrEqual(TOL);
  });

  it('loss: cross-entropy (softmax + gather in JS) vs logSoftmax * oneHot', () => {
    const z = rnd([3, 5, 256], 29, 3);
    const t = tf.tensor2d(Array.from({ length: 15 }, (_, i) => (i * 37) % 256), [3, 5], 'int32');
    expectAgree((a) => tokenNll(a as tf.Tensor3D, t), [z], (a) => tokenNllPlain(a as tf.Tensor3D, t));
    // a target whose probability underflows float32 is scored exactly (logsumexp - z)
    const big = tf.tensor3d([[[200, 0, -200, 5]]]);
    const tt = tf.tensor2d([[2]], [1, 1], 'int32');
    expect(tokenNll(big, tt).dataSync()[0]).toBeCloseTo(400, 3);
  });

  it('a whole Transformer: logits and every parameter gradient', () => {
    const spec = getArchitecture('transformer')!;
    const cfg = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
    const model = spec.build(cfg, new Params(3));
    const tokens = tf.tensor2d(Array.from({ length: 2 * 16 }, (_, i) => (i * 91 + 7) % 256), [2, 16], 'int32');
    const names = [...model.params.vars.keys()];
    const vars = names.map((n) => model.params.get(n));
    const run = (fast: boolean) => {
      const prev = setFastPath(fast);
      try {
        return tf.tidy(() => {
          const logits = model.forward(tokens);
          const { grads } = tf.variableGrads(() => tf.mean(tokenNll(model.forward(tokens), tokens)) as tf.Scalar, vars);
          return [logits, ...vars.map((v) => grads[v.name]!)];
        });
      } finally {
        setFastPath(prev);
      }
    };
    const fast = run(true), plain = run(false);
    fast.forEach((t, i) => expect(relErr(t, plain[i]!), i === 0 ? 'logits' : names[i - 1]).toBeLessThanOrEqual(TOL));
    model.params.dispose();
  });
});

describe.each(CPU_BACKENDS)('batched and transposed matMul agrees with the backend\'s own kernel (1e-5 relative) on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(async () => {
    await useBackend('wasm');
  });

  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D', [33, 20], [20, 17], false, false],
    ['2-D transposeA', [33, 20], [33, 17], true, false],
    ['2-D transposeB', [20, 33], [17, 33], false, true],
    ['2-D both', [33, 20], [17, 33], true, true],
    ['batched', [2, 3, 20, 33], [2, 3, 33, 17], false, false],
    ['batched transposeB (q k^T)', [2, 3, 20, 8], [2, 3, 25, 8], false, true],
    ['batched transposeA (k^T v)', [2, 3, 25, 8], [2, 3, 25, 6], true, false],
    ['broadcast a', [1, 20, 33], [4, 33, 17], false, false],
    ['broadcast b, transposed', [4, 20, 33], [1, 17, 33], false, true],
    ['rank 5', [2, 2, 2, 7, 5], [2, 2, 2, 5, 3], false, false],
    ['one row', [6, 1, 16], [6, 16, 40], false, false],
  ];
  for (const [name, sa, sb, ta, tb] of cases) {
    it(name, () => {
      const a = rnd(sa, 50), b = rnd(sb, 51);
      setFastPath(true);
      tf.tidy(() => L.rmsNorm(tf.ones([1, 2]), null, 1e-6)); // installs the kernels
      const fast = tf.matMul(a, b, ta, tb);
      setFastPath(false);
      const plain = tf.matMul(a, b, ta, tb);
      setFastPath(true);
      expect(relErr(fast, plain)).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('the native GEMM (harness/native/gemm.c)', () => {
  const g = NATIVE_GEMM as Exclude<typeof NATIVE_GEMM, { problem: string }>; // used only where it loaded
  it.runIf(process.env.CI)('is built and loads in CI (.ci/run installs OpenBLAS)', () => {
    expect(NATIVE_GEMM).not.toHaveProperty('problem');
  });

  /** C_i = op(A_i) op(B_i) + beta C_i by plain loops, row-major, the arguments as the native call takes them. */
  function reference(h: Float32Array, ta: boolean, tb: boolean, m: number, n: number, k: number, a: number, lda: number,
                     b: number, ldb: number, c: number, ldc: number, beta: number, batch: number, sa: number, sb: number, sc: number): void {
    for (let i = 0; i < batch; i++) {
      for (let r = 0; r < m; r++) {
        for (let col = 0; col < n; col++) {
          let sum = 0;
          for (let j = 0; j < k; j++) {
            const av = h[a + i * sa + (ta ? j * lda + r : r * lda + j)]!, bv = h[b + i * sb + (tb ? col * ldb + j : j * ldb + col)]!;
            sum += av * bv;
          }
          const at = c + i * sc + r * ldc + col;
          h[at] = sum + beta * h[at]!;
        }
      }
    }
  }

  it.runIf(!('problem' in NATIVE_GEMM))('matches plain loops with flags, leading dimensions, batch strides, broadcast and beta = 1', () => {
    const base = new Float32Array(4096).map((_, i) => Math.sin(i * 0.37));
    for (const [ta, tb, beta, sa] of [[false, false, 0, 60], [true, false, 1, 60], [false, true, 0, 0], [true, true, 1, 60]] as const) {
      const m = 5, n = 4, k = 6, batch = 3, lda = ta ? 7 : 8, ldb = tb ? 9 : 5, ldc = 6;
      const got = base.slice(), want = base.slice();
      g.gemm(got.buffer, +ta, +tb, m, n, k, 10 * 4, lda, 400 * 4, ldb, 800 * 4, ldc, beta, batch, sa, 70, 40);
      reference(want, ta, tb, m, n, k, 10, lda, 400, ldb, 800, ldc, beta, batch, sa, 70, 40);
      expect(relErr(tf.tensor1d(got), tf.tensor1d(want))).toBeLessThanOrEqual(TOL);
      expect(got.subarray(0, 800)).toEqual(base.subarray(0, 800)); // nothing written outside C
    }
  });

  it.runIf(!('problem' in NATIVE_GEMM))('refuses matrices outside the heap and empty sizes', () => {
    const heap = new ArrayBuffer(4 * 64);
    expect(() => g.gemm(heap, 0, 0, 4, 4, 4, 0, 4, 64, 4, 128, 4, 0, 1, 0, 0, 0)).not.toThrow();
    expect(() => g.gemm(heap, 0, 0, 4, 4, 4, 0, 4, 64, 4, 196, 4, 0, 1, 0, 0, 0)).toThrow(/outside the heap/);
    expect(() => g.gemm(heap, 0, 0, 4, 4, 4, 0, 4, 64, 4, 128, 4, 0, 2, 0, 0, 20)).toThrow(/outside the heap/);
    expect(() => g.gemm(heap, 0, 0, 0, 4, 4, 0, 4, 64, 4, 128, 4, 0, 1, 0, 0, 0)).toThrow(/bad sizes/);
    const short = g.gemm as unknown as (...args: unknown[]) => void;
    expect(() => short(heap, 0, 0, 4, 4, 4, 0, 4, 64, 4, 128, 4, 0)).toThrow(/17 arguments/);
  });
});

describe('replaced wasm kernels are bit-identical to the originals', () => {
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['transpose [0,2,1,3]', () => tf.transpose(tf.range(0, 2 * 3 * 4 * 5).reshape([2, 3, 4, 5]), [0, 2, 1, 3])],
    ['transpose last two', () => tf.transpose(rnd([3, 17, 33], 30), [0, 2, 1])],
    ['transpose 2-D', () => tf.transpose(rnd([40, 24], 31))],
    ['transpose other', () => tf.transpose(rnd([2, 3, 4], 32), [2, 0, 1])],
    ['transpose with unit axes', () => tf.transpose(rnd([1, 5, 1, 7], 33), [3, 1, 2, 0])],
    ['transpose int32', () => tf.transpose(tf.range(0, 24, 1, 'int32').reshape([4, 6]))],
    ['slice', () => tf.slice(rnd([4, 5, 6], 34), [1, 0, 2], [2, 5, 3])],
    ['slice contiguous', () => tf.slice(rnd([4, 5, 6], 35), [1, 0, 0], [2, 5, 6])],
    ['slice int32', () => tf.slice(tf.range(0, 60, 1, 'int32').reshape([6, 10]), [0, 1], [-1, 9])],
    ['split', () => tf.split(rnd([3, 4, 12], 36), [2, 4, 6], -1)],
    ['split axis 0', () => tf.split(rnd([6, 4], 37), 3, 0)],
    ['unstack', () => tf.unstack(rnd([3, 4, 2], 38), 1)],
    ['clone', () => tf.clone(rnd([5, 3], 39))],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      setFastPath(true);
      tf.tidy(() => L.rmsNorm(tf.ones([1, 2]), null, 1e-6)); // a fast-path call installs the kernels
      const a = ([] as tf.Tensor[]).concat(f()).map((t) => Array.from(t.dataSync()));
      setFastPath(false);
      const b = ([] as tf.Tensor[]).concat(f()).map((t) => Array.from(t.dataSync()));
      expect(a).toEqual(b);
    });
  }
});
