// What the webgpu kernel tests (architectures/ops/<family>/*.webgpu.test.ts) share: the webgpu backend on
// Dawn (skipped, saying why, where Dawn finds no adapter; CI must have one), and a kernel against its
// reference there, values and gradients, read asynchronously (webgpu has no synchronous read).
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { setFastPath } from '../architectures/ops/fast-path.ts';
import { setBindingLimit } from '../architectures/ops/webgpu-program.ts';
import { selectBackend } from '../harness/backend.ts';
import { startDawn } from '../harness/webgpu.ts';
import { valueAndGrads } from './agreement.ts';
import { relMax } from './helpers.ts';

/** WGSL kernels and references agree within this, relative: max |kernel - reference| <= TOL * max |reference|. */
export const WEBGPU_TOL = 1e-4;

const dawn = await startDawn().then(() => null, (e: Error) => e.message);
if (dawn) process.stderr.write(`webgpu kernels are not tested here: ${dawn}\n`);
if (dawn && process.env.CI) throw new Error(`CI must test the webgpu kernels: ${dawn}`);

/** `body`'s tests on the webgpu backend (forced: a software adapter will do), fast paths back on after each. */
export function describeOnWebgpu(title: string, body: () => void): void {
  describe.runIf(!dawn)(`${title} on webgpu`, () => {
    beforeAll(async () => {
      await selectBackend('webgpu');
    });
    afterAll(async () => {
      await selectBackend('wasm');
    });
    afterEach(() => {
      setFastPath(true);
      setBindingLimit(null);
    });
    body();
  });
}

/**
 * max |a - b| / max |b|, read asynchronously. b must not be all zero: a failed WGSL program leaves its
 * output zero, and two failed programs must not pass as agreeing.
 */
export async function relErrAsync(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = await Promise.all([a.data(), b.data()]);
  expect(y.some((e) => e !== 0), 'the reference is all zero').toBe(true);
  return relMax(x, y);
}

/**
 * The kernel (f, fast paths on) against the reference (fast paths off), value and every gradient within
 * WEBGPU_TOL; prints and returns the relative errors [value, ...gradients] under `label`.
 */
export async function expectAgreeOnWebgpu(label: string, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[],
                                          reference: (...xs: tf.Tensor[]) => tf.Tensor): Promise<number[]> {
  const kernel = valueAndGrads(true, f, xs), plain = valueAndGrads(false, reference, xs);
  const errs = await Promise.all(kernel.map((t, i) => relErrAsync(t, plain[i]!)));
  tf.dispose([...kernel, ...plain]);
  process.stderr.write(`webgpu ${label}: relative error value ${errs[0]!.toExponential(1)}, gradients ${errs.slice(1).map((e) => e.toExponential(1)).join(' ')}\n`);
  for (const e of errs) expect(e).toBeLessThanOrEqual(WEBGPU_TOL);
  return errs;
}

/** Runs body, counting the WGSL programs run whose shader key starts with each of `keys`. */
export async function countPrograms(keys: string[], body: () => Promise<unknown>): Promise<number[]> {
  const be = tf.backend() as unknown as { runWebGPUProgram: (p: { shaderKey: string }, ...rest: unknown[]) => unknown };
  const run = be.runWebGPUProgram, counts = keys.map(() => 0);
  be.runWebGPUProgram = function (this: unknown, p, ...rest) {
    keys.forEach((k, i) => { if (p.shaderKey.startsWith(k)) counts[i]!++; });
    return run.call(this, p, ...rest);
  };
  try {
    await body();
  } finally {
    be.runWebGPUProgram = run;
  }
  return counts;
}

/**
 * The kernel against the reference as expectAgreeOnWebgpu, with every binding held to `limitBytes` (so that
 * the kernel splits its rows over several dispatches), and the count of WGSL programs run whose shader key
 * starts with each of `keys`.
 */
export async function expectAgreeSplit(label: string, limitBytes: number, keys: string[], f: (...xs: tf.Tensor[]) => tf.Tensor,
                                       xs: tf.Tensor[], reference: (...xs: tf.Tensor[]) => tf.Tensor): Promise<number[]> {
  setBindingLimit(limitBytes);
  try {
    return await countPrograms(keys, () => expectAgreeOnWebgpu(`${label}, bindings held to ${limitBytes} bytes`, f, xs, reference));
  } finally {
    setBindingLimit(null);
  }
}
