// The optim family's kernel: one AdamW step (reference.ts's update) as one pass over flat Float32Arrays in
// host memory, instead of ~10 tensor ops per parameter: the native addon's loop where it is loaded
// (wasm+openblas), else the same loop in JS; the two are bit-identical. Moments are kept in float32 between
// steps; each element's arithmetic runs in double precision, rounded once when stored.
import { nativeGemm } from '../wasm-backend.ts';
import type { AdamWStep } from './reference.ts';

/** The per-step constants of the loop, computed once here for both versions. */
function constants(s: AdamWStep): [gradScale: number, beta1: number, beta2: number, c1: number, c2: number, lrOverBc1: number, invBc2: number, keep: number] {
  const { lr, beta1, beta2 } = s;
  const bc1 = 1 - Math.pow(beta1, s.t), bc2 = 1 - Math.pow(beta2, s.t);
  return [s.gradScale, beta1, beta2, 1 - beta1, 1 - beta2, lr / bc1, 1 / bc2, s.decay > 0 ? Math.fround(1 - lr * s.decay) : 1];
}

/** One AdamW step from gradient g: updates w, m and v (each as long as g) in place. */
export function adamwHost(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWStep): void {
  const native = nativeGemm();
  if (native) native.adamw(w, g, m, v, ...constants(s));
  else adamwJs(w, g, m, v, s);
}

/** adamwHost in JS. */
export function adamwJs(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWStep): void {
  const [gradScale, beta1, beta2, c1, c2, lrOverBc1, invBc2, keep] = constants(s);
  for (let i = 0; i < g.length; i++) {
    const gi = Math.fround(g[i]! * gradScale);
    const mi = m[i]! * beta1 + gi * c1;
    const vi = v[i]! * beta2 + gi * gi * c2;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! * keep - (lrOverBc1 * mi) / (Math.sqrt(vi * invBc2) + 1e-8);
  }
}
