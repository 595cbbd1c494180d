// Whether a fast kernel applies: the switch for all of them (tests and `bench --plain` compare both ways),
// the gate each wasm kernel passes first (fastBackend: the wasm backend, with the tfjs kernel patches of
// wasm-patches.ts installed on first use), and the tape check the dispatchers make before treating a
// table (rotation, mask) as a constant. A kernel that does not apply answers null and its family's
// dispatcher (ops/<family>/index.ts) takes the reference.
import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-backend.ts';
import { patchKernels, restoreKernels } from './wasm-patches.ts';

let enabled = true;

/** Turn the fast paths on or off (tests compare both); returns the previous setting. */
export function setFastPath(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  if (!on) restoreKernels();
  return prev;
}

export function fastPathEnabled(): boolean {
  return enabled;
}

/** The wasm backend when the fast paths apply to these tensors, else null (take the plain path). */
export function fastBackend(...tensors: tf.Tensor[]): WasmBackend | null {
  if (!enabled || tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as WasmBackend;
  if (typeof be.wasm?._BatchMatMul !== 'function') return null;
  patchKernels();
  for (const t of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') return null;
    if (!be.dataIdMap.has(t.dataId)) return null;
  }
  return be;
}

/**
 * True when gradients may flow into t in the gradient computation now being recorded (t is a trainable
 * variable or the output of a recorded op). Fast paths treat tables (rotations, masks) as constants and
 * take the plain path when they are not.
 */
export function mayNeedGradient(t: tf.Tensor): boolean {
  if (t instanceof tf.Variable) return t.trainable;
  const engine = tf.engine() as unknown as { state: { activeTape: { outputs: tf.Tensor[] }[] | null; gradientDepth: number } };
  const tape = engine.state.activeTape;
  if (!tape || engine.state.gradientDepth === 0) return false;
  for (let i = tape.length - 1; i >= 0; i--) {
    for (const o of tape[i]!.outputs) if (o.id === t.id) return true;
  }
  return false;
}
