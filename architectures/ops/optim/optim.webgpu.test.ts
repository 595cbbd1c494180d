// The optim family on webgpu: the WGSL AdamW kernel (webgpu.ts) and the tfjs reference (reference.ts, one
// call per decayed or undecayed range) take the same weights and moments to within 1e-4 relative over
// several steps, with and without weight decay and clipping, at lengths that are not multiples of the
// workgroup size.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { describeOnWebgpu, relErrAsync, WEBGPU_TOL } from '../../../tests/webgpu-agreement.ts';
import { type AdamWStep, adamwReference } from './reference.ts';
import { adamwWebgpu, adamwWebgpuMaxElements, adamwWebgpuState } from './webgpu.ts';

/** [start, end, decayed] pieces covering [0, n), from the sorted decayed ranges. */
function pieces(n: number, decayed: [number, number][]): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  let at = 0;
  for (const [a, b] of decayed) {
    if (at < a) out.push([at, a, false]);
    out.push([a, b, true]);
    at = b;
  }
  if (at < n) out.push([at, n, false]);
  return out;
}

describeOnWebgpu('optim: the WGSL AdamW kernel agrees with the reference', () => {
  const steps = 6, beta1 = 0.9, beta2 = 0.95;
  const cases: [number, [number, number][], number, number][] = [
    [1031, [], 0, 1],
    [1031, [[0, 300], [517, 1000]], 0.1, 1],
    [77, [[5, 77]], 0, 0.37],
    [4099, [[1, 2], [100, 4099]], 0.1, 0.37],
  ];
  it.each(cases)(`n %i, decayed %j, weight decay %d, grad scale %d: w, m, v within 1e-4 relative over ${steps} steps`, async (n, decayed, weightDecay, gradScale) => {
    expect(adamwWebgpuMaxElements()).toBeGreaterThanOrEqual(n);
    const w0 = tf.randomUniform([n], -0.5, 0.5, 'float32', 1) as tf.Tensor1D;
    let state = adamwWebgpuState(w0, decayed);
    let ref = pieces(n, decayed).map(([a, b, d]) => ({ d, w: w0.slice(a, b - a) as tf.Tensor, m: tf.zeros([b - a]), v: tf.zeros([b - a]) }));
    for (let t = 1; t <= steps; t++) {
      const g = tf.randomUniform([n], -2, 2, 'float32', 100 + t) as tf.Tensor1D, lr = 1e-2 * t;
      const next = adamwWebgpu(state, g, lr, gradScale, { beta1, beta2, weightDecay });
      expect(next).not.toBeNull();
      state.wmv.dispose();
      state = next!;
      let at = 0;
      ref = ref.map((p) => {
        const s: AdamWStep = { lr, beta1, beta2, t, gradScale, decay: p.d ? weightDecay : 0 };
        const gp = g.slice(at, p.w.size);
        at += p.w.size;
        const r = adamwReference(p.w, gp, p.m, p.v, s);
        tf.dispose([p.w, p.m, p.v, gp]);
        return { d: p.d, ...r };
      });
      g.dispose();
    }
    const [w, m, v] = tf.unstack(state.wmv);
    const errs = [await relErrAsync(w!, tf.concat(ref.map((p) => p.w))), await relErrAsync(m!, tf.concat(ref.map((p) => p.m))),
                  await relErrAsync(v!, tf.concat(ref.map((p) => p.v)))];
    process.stderr.write(`webgpu adamw n ${n} decayed ${JSON.stringify(decayed)} decay ${weightDecay} scale ${gradScale}: relative error ${['w', 'm', 'v'].map((x, i) => `${x} ${errs[i]!.toExponential(1)}`).join(', ')}\n`);
    for (const e of errs) expect(e).toBeLessThanOrEqual(WEBGPU_TOL);
    expect(await relErrAsync(w!, w0)).toBeGreaterThan(1e-3); // the weights did move
  });
});
