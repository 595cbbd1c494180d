// The optim family: the host kernel (host.ts) and the tfjs reference (reference.ts) take the same weights
// and moments to within float32 tolerance over several steps, with and without weight decay and clipping.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adamwHost } from './host.ts';
import { type AdamWStep, adamwReference } from './reference.ts';

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

describe('AdamW: host kernel against the tfjs reference', () => {
  const n = 1000, steps = 6;
  const cases: [string, { decay: number; gradScale: number }][] = [
    ['plain', { decay: 0, gradScale: 1 }],
    ['weight decay', { decay: 0.1, gradScale: 1 }],
    ['clipped gradients', { decay: 0, gradScale: 0.37 }],
    ['weight decay and clipping', { decay: 0.1, gradScale: 0.37 }],
  ];
  it.each(cases)(`%s: weights and moments within 1e-5 relative over ${steps} steps`, (_, c) => {
    const w0 = values(n, 1, 0.5);
    const hw = w0.slice(), hm = new Float32Array(n), hv = new Float32Array(n);
    let rw: tf.Tensor = tf.tensor1d(w0), rm: tf.Tensor = tf.zeros([n]), rv: tf.Tensor = tf.zeros([n]);
    for (let t = 1; t <= steps; t++) {
      const g = values(n, 100 + t, 2);
      const s: AdamWStep = { lr: 1e-2 * t, beta1: 0.9, beta2: 0.95, t, ...c };
      adamwHost(hw, g, hm, hv, s);
      const gt = tf.tensor1d(g);
      const next = adamwReference(rw, gt, rm, rv, s);
      tf.dispose([rw, rm, rv, gt]);
      ({ w: rw, m: rm, v: rv } = next);
    }
    expect(relMax(hw, rw.dataSync())).toBeLessThan(1e-5);
    expect(relMax(hm, rm.dataSync())).toBeLessThan(1e-5);
    expect(relMax(hv, rv.dataSync())).toBeLessThan(1e-5);
    expect(relMax(hw, w0)).toBeGreaterThan(1e-3); // the weights did move
    tf.dispose([rw, rm, rv]);
  });
});
