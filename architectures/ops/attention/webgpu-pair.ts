// Diff's pair of maps fused on webgpu (webgpu-pair-wgsl.ts): per pair p of query maps 2p, 2p+1,
//   O = (softmax(scale q1 k1^T + mask) - λ_p softmax(scale q2 k2^T + mask)) V
// causal with the KV-cache offset S - T, with two online-softmax states in one pass over the key tiles and
// no T x S scores; its gradient in WGSL (dQ; dK|dV per pair, summed to the key maps and value heads) and
// dλ_p = -sum D2 (D2 = dO . O2, O2 = the second map's output, saved by the forward).
// q [B,2P,T,Dh], k [B,Hk,S,Dh] (map m reads key map m / (2P/Hk)), v [B,Hv,S,Dv] (pair p reads value head
// p / (P/Hv)), λ a scalar or [P] -> [B,P,T,Dv]. Outputs go in dispatches that each bind less than the
// device's maxStorageBufferBindingSize (webgpu-plan.ts's planPairs).
import * as tf from '@tensorflow/tfjs';
import type { GradFunc } from '../custom-grad.ts';
import { planPairs } from './webgpu-plan.ts';
import { pairProgram } from './webgpu-pair-wgsl.ts';
import { type ProgramDims, tileRows } from './webgpu-wgsl.ts';
import { attentionShape, fusedBackend, programUniforms, runDispatches, sumConsecutive } from './webgpu.ts';

/** The fused pair where it applies (as attendFusedWebgpu; λ float32 of size 1 or P), else null. */
export function attendPairFusedWebgpu(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, lambda: tf.Tensor, scale: number, bindingLimit?: number): tf.Tensor4D | null {
  const be = fusedBackend();
  const shape = attentionShape(q, [k], v);
  if (!be || !shape) return null;
  const { batch: b, heads: maps, queries: t, keys: s, headDim: dh, valueDim: dv, keyHeads, valueHeads } = shape;
  const pairs = maps / 2;
  if (lambda.dtype !== 'float32' || lambda.rank > 1 || (lambda.size !== 1 && lambda.size !== pairs)) return null;
  const plan = planPairs(shape, Math.min(bindingLimit ?? Infinity, be.device.limits.maxStorageBufferBindingSize));
  if (!plan) return null;
  const storage = be.device.limits.maxComputeWorkgroupStorageSize;
  const keyDims: ProgramDims = { dh, dv, layout: 'pairs', tile: tileRows('forward', dh, dv, 'pairs', storage) };
  const queryDims: ProgramDims = { dh, dv, layout: 'pairs', tile: tileRows('dkdv', dh, dv, 'pairs', storage) };
  const uniforms = programUniforms(shape, pairs, { causal: true, window: 0 }, scale);

  const fused = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, lambdas: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    const [o, second, lse] = runDispatches(be, pairProgram, 'forward', plan, [qs, ks, vs, lambdas], t, uniforms, keyDims, [dv, dv, 2]);
    const out = o!.reshape([b, pairs, t, dv]);
    save([qs, ks, vs, lambdas, out, second!, lse!]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, sl, so, so2, slse] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        // D2 = dO . O2, D1 = dO . O1 = dO . (O + λ O2): [B,P,T] each, bound as [B*P, T, 2]
        const delta2 = tf.sum(tf.mul(dy, so2.reshape([b, pairs, t, dv])), -1);
        const delta1 = tf.add(tf.sum(tf.mul(dy, so), -1), tf.mul(sl.reshape([1, pairs, 1]), delta2));
        const inputs = [sq, sk, sv, sl, dy, slse, tf.stack([delta1, delta2], -1)];
        const dq = runDispatches(be, pairProgram, 'dq', plan, inputs, t, uniforms, keyDims, [dh, dh]);
        const [dk1, dk2, dvPairs] = runDispatches(be, pairProgram, 'dkdv', plan, inputs, s, uniforms, queryDims, [dh, dh, dv]);
        // [B*P, 2, T|S, Dh] is [B, 2P, T|S, Dh]: per query map; maps of one key map (pairs of one value head) are consecutive
        const dk = sumConsecutive(tf.stack([dk1!, dk2!], 1), b, keyHeads, maps / keyHeads, s, dh);
        const dvHeads = sumConsecutive(dvPairs!, b, valueHeads, pairs / valueHeads, s, dv);
        return [tf.stack(dq, 1).reshape(sq.shape), dk, dvHeads, tf.neg(tf.sum(delta2, [0, 2]))];
      }),
    };
  }) as GradFunc);
  return fused(q, k, v, tf.broadcastTo(lambda.reshape([-1]), [pairs])) as tf.Tensor4D;
}
