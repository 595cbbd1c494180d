// The native addon's elementwise kernels (harness/native/kernels.c, on wasm+openblas) against the JS loops
// they replace (on wasm): bit for bit, on random heaps (AdamW: on host arrays), with and without their
// optional operands.
import { describe, expect, it } from 'vitest';
import { NATIVE_GEMM } from '../../tests/helpers.ts';
import { siluGateBackwardJs, siluGateForwardJs } from './activation/wasm.ts';
import { scaleMaskRowsJs, softmaxGradRowsJs } from './attention/wasm.ts';
import { rmsNormBackwardJs, rmsNormForwardJs } from './norm/wasm.ts';
import { rotateJs } from './rotation/wasm.ts';
import { adamwHost, adamwJs } from './optim/host.ts';
import { setNativeGemm } from './wasm-backend.ts';

const FLOATS = 6000;

/** A heap of values in (-2, 2) from a fixed-seed generator, with every 7th float an exact masked logit (-1e9). */
function randomHeap(seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const h = new Float32Array(FLOATS).map(() => 4 * next() - 2);
  for (let i = 3; i < FLOATS; i += 7) if (i >= 4000 && i < 4200) h[i] = -1e9;
  return h;
}

/** Runs the JS loop and the native kernel on copies of one heap; returns the index of the first differing bit pattern. */
function firstDifference(seed: number, js: (h: Float32Array) => void, native: (heap: ArrayBuffer) => void): number {
  const want = randomHeap(seed), got = want.slice();
  js(want);
  native(got.buffer);
  const a = new Uint32Array(want.buffer), b = new Uint32Array(got.buffer);
  return a.findIndex((v, i) => v !== b[i]);
}

describe.runIf(!('problem' in NATIVE_GEMM))('the native elementwise kernels equal the JS loops bit for bit', () => {
  const k = NATIVE_GEMM as Exclude<typeof NATIVE_GEMM, { problem: string }>; // used only where it loaded
  const seeds = [1, 2, 3];

  it('RMSNorm forward and backward, with and without a weight', () => {
    for (const seed of seeds) {
      for (const w of [100, -1]) {
        const rows = 9, d = 37; // x 200.., y 600.., r 1000.., dy 1400.., dx 1800.., dw 2200..
        expect(firstDifference(seed, (h) => rmsNormForwardJs(h, 200, w, 600, 1000, rows, d, 1e-6),
          (heap) => k.rmsNormForward(heap, 200, w, 600, 1000, rows, d, 1e-6))).toBe(-1);
        const dw = w >= 0 ? 2200 : -1;
        expect(firstDifference(seed, (h) => rmsNormBackwardJs(h, 200, w, 1400, 1000, 1800, dw, rows, d),
          (heap) => k.rmsNormBackward(heap, 200, w, 1400, 1000, 1800, dw, rows, d))).toBe(-1);
      }
    }
  });

  it('attention: scaled (and masked) logits, and the softmax gradient', () => {
    for (const seed of seeds) {
      for (const mask of [4000, -1]) { // mask rows 40 floats apart, some -1e9
        expect(firstDifference(seed, (h) => scaleMaskRowsJs(h, 100, mask, 11, 29, 40, 0.17677669529663687),
          (heap) => k.scaleMaskRows(heap, 100, mask, 11, 29, 40, 0.17677669529663687))).toBe(-1);
      }
      expect(firstDifference(seed, (h) => softmaxGradRowsJs(h, 100, 900, 11, 29, 0.125),
        (heap) => k.softmaxGradRows(heap, 100, 900, 11, 29, 0.125))).toBe(-1);
    }
  });

  it('rotation and its transpose', () => {
    for (const seed of seeds) {
      for (const sign of [1, -1] as const) { // x [3, 10, 16] at 100, tables [10, 16] at 1000 and 1200, out at 2000
        expect(firstDifference(seed, (h) => rotateJs(h, 100, 1000, 1200, 2000, 3, 10, 16, sign),
          (heap) => k.rotate(heap, 100, 1000, 1200, 2000, 3, 10, 16, sign))).toBe(-1);
      }
    }
  });

  it('the SwiGLU gate forward and backward', () => {
    for (const seed of seeds) { // gu [7, 2*23] at 0, sig at 400, y / dy at 800, dgu at 1200
      expect(firstDifference(seed, (h) => siluGateForwardJs(h, 0, 400, 800, 7, 23),
        (heap) => k.siluGateForward(heap, 0, 400, 800, 7, 23))).toBe(-1);
      expect(firstDifference(seed, (h) => siluGateBackwardJs(h, 0, 400, 800, 1200, 7, 23),
        (heap) => k.siluGateBackward(heap, 0, 400, 800, 1200, 7, 23))).toBe(-1);
    }
  });

  it('the host AdamW step, with and without decay and clipping, on plain and shared arrays', () => {
    const n = 3001; // odd: the vector loop's tail too
    for (const seed of seeds) {
      for (const [decay, gradScale, t, shared] of [[0.1, 1, 1, false], [0, 0.37, 7, true], [0.1, 0.37, 1000, true]] as const) {
        const h = randomHeap(seed), take = (i: number) => {
          const a = shared ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
          a.set(h.subarray(i * 1000, i * 1000 + n).map((x) => (i >= 2 ? Math.abs(x) : x))); // moments: m, v >= 0 as after steps
          return a;
        };
        const want = [0, 1, 2, 3].map(take), got = want.map((a) => a.slice());
        const s = { lr: 3e-3, beta1: 0.9, beta2: 0.95, decay, t, gradScale };
        adamwJs(want[0]!, want[1]!, want[2]!, want[3]!, s);
        const prev = setNativeGemm(k);
        try {
          adamwHost(got[0]!, got[1]!, got[2]!, got[3]!, s); // the dispatcher takes the native loop
        } finally {
          setNativeGemm(prev);
        }
        const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
        for (const i of [0, 2, 3]) expect(bits(got[i]!)).toEqual(bits(want[i]!));
        expect(bits(got[0]!)).not.toEqual(bits(take(0))); // the weights did move
      }
    }
  });

  it('refuses overlapping or mismatched AdamW arrays', () => {
    const a = new Float32Array(64), c = [1, 0.9, 0.95, 0.1, 0.05, 1e-3, 1, 1] as const;
    expect(() => k.adamw(a.subarray(0, 16), a.subarray(16, 32), a.subarray(32, 48), a.subarray(48, 64), ...c)).not.toThrow();
    expect(() => k.adamw(a.subarray(0, 16), a.subarray(8, 24), a.subarray(32, 48), a.subarray(48, 64), ...c)).toThrow(/overlap/);
    expect(() => k.adamw(a.subarray(0, 16), a.subarray(16, 31), a.subarray(32, 48), a.subarray(48, 64), ...c)).toThrow(/one length/);
    expect(() => k.adamw(a.subarray(0, 16), a.subarray(16, 32), a.subarray(32, 48), a.subarray(48, 64), 1, 0.9, 0.95, 0.1, 0.05, 1e-3, 1, Number.NaN)).toThrow(/finite/);
  });

  it('refuses data outside the heap and missing arguments', () => {
    const heap = new ArrayBuffer(4 * 64);
    expect(() => k.rmsNormForward(heap, 0, -1, 32, 60, 4, 8, 1e-6)).not.toThrow();
    expect(() => k.rmsNormForward(heap, 0, -1, 40, 60, 4, 8, 1e-6)).toThrow(/outside the heap/);
    expect(() => k.rotate(heap, 0, 0, 0, 32, 2, 2, 8, 1)).not.toThrow();
    expect(() => k.rotate(heap, 0, 0, 0, 33, 2, 2, 8, 1)).toThrow(/outside the heap/);
    expect(() => k.scaleMaskRows(heap, 0, 50, 2, 8, 8, 1)).toThrow(/outside the heap/);
    const short = k.softmaxGradRows as unknown as (...args: unknown[]) => void;
    expect(() => short(heap, 0, 8)).toThrow(/expected a heap/);
    expect(() => k.softmaxGradRows(heap, 0, Number.NaN, 2, 8, 1)).toThrow(/finite numbers/);
  });
});
