// The optim family's kernel: one AdamW step (reference.ts's update) as one JS pass over flat Float32Arrays
// in host memory, instead of ~10 tensor ops per parameter. Moments are kept in float32 between steps; each
// element's arithmetic runs in double precision, rounded once when stored.
import type { AdamWStep } from './reference.ts';

/** One AdamW step from gradient g: updates w, m and v (each as long as g) in place. */
export function adamwHost(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWStep): void {
  const { lr, beta1, beta2, gradScale } = s;
  const bc1 = 1 - Math.pow(beta1, s.t), bc2 = 1 - Math.pow(beta2, s.t);
  const c1 = 1 - beta1, c2 = 1 - beta2, lrOverBc1 = lr / bc1, invBc2 = 1 / bc2;
  const keep = s.decay > 0 ? Math.fround(1 - lr * s.decay) : 1;
  for (let i = 0; i < g.length; i++) {
    const gi = Math.fround(g[i]! * gradScale);
    const mi = m[i]! * beta1 + gi * c1;
    const vi = v[i]! * beta2 + gi * gi * c2;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! * keep - (lrOverBc1 * mi) / (Math.sqrt(vi * invBc2) + 1e-8);
  }
}
