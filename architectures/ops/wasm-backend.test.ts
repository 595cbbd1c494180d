// The native GEMM the wasm kernels call on wasm+openblas (harness/native/gemm.c, installed by
// setNativeGemm): against plain loops with every argument convention, and its refusals.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TOL, relErr } from '../../tests/agreement.ts';
import { NATIVE_GEMM, onlyIf } from '../../tests/helpers.ts';

describe('the native GEMM (harness/native/gemm.c)', () => {
  const g = NATIVE_GEMM as Exclude<typeof NATIVE_GEMM, { problem: string }>; // used only where it loaded
  it.runIf(onlyIf(Boolean(process.env.CI), 'the check that the native GEMM loads', 'only CI must have it (CI is not set)'))('is built and loads in CI (.ci/run installs OpenBLAS)', () => {
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
