// The rotation the RoPE and xPos tables apply: the wasm kernel where it applies (constant tables), else
// the reference.
import type * as tf from '@tensorflow/tfjs';
import { mayNeedGradient } from '../fast-path.ts';
import { applyRotationPlain } from './reference.ts';
import { rotateWasm } from './wasm.ts';

/** Interleaved (GPT-J) rotation: out = x * cosDup + rotate_every_two(x) * sinDup; tables [T, d] broadcast. */
export function applyRotation(x: tf.Tensor, cosDup: tf.Tensor, sinDup: tf.Tensor): tf.Tensor {
  if (!mayNeedGradient(cosDup) && !mayNeedGradient(sinDup)) {
    const fast = rotateWasm(x, cosDup, sinDup);
    if (fast) return fast;
  }
  return applyRotationPlain(x, cosDup, sinDup);
}
