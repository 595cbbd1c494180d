// What the kernel tests (architectures/ops/**/*.test.ts) share: the tolerance, the comparison of an op
// with the fast kernels on against a reference with them off (values and gradients), and one describe
// block per CPU backend (wasm, and wasm+openblas where its GEMM loads).
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { setFastPath } from '../architectures/ops/fast-path.ts';
import { CPU_BACKENDS, useBackend } from './helpers.ts';

/** Fast kernels and references agree within this, relative: max |fast - plain| <= TOL * max |plain|. */
export const TOL = 1e-5;

/** max |a - b| / max |b| over all elements (0 when both are all zero). */
export function relErr(a: tf.Tensor, b: tf.Tensor): number {
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
export function valueAndGrads(fast: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
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
export function expectAgree(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], reference?: (...xs: tf.Tensor[]) => tf.Tensor): number[] {
  const fast = valueAndGrads(true, f, xs);
  const plain = valueAndGrads(false, reference ?? f, xs);
  const errs = fast.map((t, i) => relErr(t, plain[i]!));
  for (const e of errs) expect(e).toBeLessThanOrEqual(TOL);
  tf.dispose([...fast, ...plain]);
  return errs;
}

/** A seeded N(0, std^2) tensor. */
export const rnd = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed);

/** `body`'s tests once per CPU backend (`${title} on <backend>`), with the fast paths back on after each test. */
export function describeOnCpuBackends(title: string, body: (backend: string) => void): void {
  describe.each(CPU_BACKENDS)(`${title} on %s`, (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await useBackend('wasm');
    });
    afterEach(() => {
      setFastPath(true);
    });
    body(backend);
  });
}
