// The model calls the efficiency suite measures: deterministic token ids, prefill and step inside
// tf.tidy, a profiled call (peak tensor bytes and seconds), and the clocks (wall seconds, process RSS).
import * as tf from '@tensorflow/tfjs';
import type { DecodeState, LanguageModel } from '../../architectures/interface.ts';
import { Rng } from '../../harness/data/rng.ts';

export const rss = (): number => process.memoryUsage.rss();
export const now = (): number => performance.now() / 1000;

/** Deterministic token ids [batch, length] (timing does not depend on them; they are the same for every architecture). */
export function tokenIds(vocab: number, batch: number, length: number, seed: number): Int32Array {
  const rng = new Rng(seed * 7919 + length * 31 + batch);
  return Int32Array.from({ length: batch * length }, () => rng.int(vocab));
}

type PrefillOut = { logits: tf.Tensor3D; state: DecodeState };

export function tidyPrefill(model: LanguageModel, tokens: tf.Tensor2D, allLogits = false): PrefillOut {
  return tf.tidy(() => model.prefill(tokens, { allLogits }) as unknown as tf.TensorContainer) as unknown as PrefillOut;
}

export function tidyStep(model: LanguageModel, state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState } {
  return tf.tidy(() => model.step(state, token) as unknown as tf.TensorContainer) as unknown as { logits: tf.Tensor2D; state: DecodeState };
}

/** Profile f (tensor-memory peak over every kernel) and time it; the result stays alive. */
export async function profiled<T>(f: () => T): Promise<{ result: T; peakBytes: number; before: number; seconds: number }> {
  const before = tf.memory().numBytes;
  const t0 = now();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() => f() as unknown as tf.TensorContainer);
  } catch (e) {
    // tf.profile does not reset the engine's profiling flag when the query throws: every later kernel
    // would be profiled (slow, and its records kept). Callers run the computation once unprofiled first
    // (the gate; a canary training step), because a kernel that throws under the profiler on wasm also
    // leaves a rejected timer promise behind.
    (tf.engine() as unknown as { state: { profiling: boolean } }).state.profiling = false;
    throw e;
  }
  const result = info.result as unknown as T;
  const peak = Math.max(Number.isFinite(info.peakBytes) ? info.peakBytes : 0, tf.memory().numBytes);
  return { result, peakBytes: peak, before, seconds: now() - t0 };
}
