// The forms of retention held together on random q, k, v: YOCO's gated retention is the same in its
// parallel, chunkwise and recurrent forms (and the closed-form prompt state is the recurrent one); RetNet's
// MSR is the same up to a positive scale per row, which each form normalises its own way (the group norm
// after it removes that scale: tests/architectures.test.ts checks the whole mixer's forms).
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { TOL, describeOnCpuBackends, relErr, rnd } from '../../../tests/agreement.ts';
import { rmsNormPlain } from '../norm/reference.ts';
import { gatedChunkwise, msrChunkwise } from './chunkwise.ts';
import { cumsumLast, msrLogDecays } from './decay.ts';
import { gatedParallel, msrParallel } from './parallel.ts';
import { decayedState, emptyState, retentionStep } from './recurrent.ts';

const [B, H, T, DK, DV] = [2, 2, 11, 4, 6];
const CHUNK = 4;

/** The recurrent form, token by token from the empty state: outputs [B,H,T,Dv] and the last state. */
function recurrent(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, decay: (n: number) => tf.Tensor): { o: tf.Tensor; S: tf.Tensor } {
  let S: tf.Tensor = emptyState(B, H, DK, DV);
  const os: tf.Tensor[] = [];
  for (let n = 0; n < T; n++) {
    const at = (x: tf.Tensor) => x.slice([0, 0, n, 0], [-1, -1, 1, -1]);
    const r = retentionStep(S, at(q), at(k), at(v), decay(n));
    os.push(r.o);
    S = r.S;
  }
  return { o: tf.concat(os, 2), S };
}

/** Each row divided by its root mean square: what is left of o once a positive scale per row is taken out. */
const perRowShape = (o: tf.Tensor): tf.Tensor => rmsNormPlain(o, null, 0);

describeOnCpuBackends('retention: the parallel, chunkwise and recurrent forms agree (1e-5 relative)', () => {
  it('YOCO gated retention: parallel = chunkwise = recurrent, and the closed-form prompt state = the recurrent state', () => {
    tf.tidy(() => {
      const q = rnd([B, H, T, DK], 60), k = rnd([B, H, T, DK], 61), v = rnd([B, H, T, DV], 62);
      const a = tf.neg(tf.abs(rnd([B, H, T], 63, 0.3))); // log-decays < 0
      const parallel = gatedParallel(q, k, v, a);
      expect(relErr(gatedChunkwise(q, k, v, a, CHUNK), parallel)).toBeLessThanOrEqual(TOL);
      const rec = recurrent(q, k, v, (n) => tf.exp(a.slice([0, 0, n], [-1, -1, 1])).expandDims(-1));
      expect(relErr(rec.o, parallel)).toBeLessThanOrEqual(TOL);
      const G = cumsumLast(a);
      const w = tf.exp(tf.sub(G.slice([0, 0, T - 1], [-1, -1, 1]), G)).expandDims(-1);
      expect(relErr(decayedState(k, v, w), rec.S)).toBeLessThanOrEqual(TOL);
    });
  });

  it('RetNet MSR: parallel = chunkwise = recurrent up to a positive scale per row', () => {
    tf.tidy(() => {
      const q = rnd([B, H, T, DK], 64), k = rnd([B, H, T, DK], 65), v = rnd([B, H, T, DV], 66);
      const logGammas = msrLogDecays(H);
      const parallel = perRowShape(msrParallel(q, k, v, logGammas));
      expect(relErr(perRowShape(msrChunkwise(q, k, v, logGammas, CHUNK)), parallel)).toBeLessThanOrEqual(TOL);
      const gammas = tf.tensor(logGammas.map(Math.exp), [1, H, 1, 1]);
      expect(relErr(perRowShape(recurrent(q, k, v, () => gammas).o), parallel)).toBeLessThanOrEqual(TOL);
    });
  });
});
