// The one owner of decoding-state bookkeeping: the bytes a DecodeState really holds, and freeing a state
// (whole, or the part a step replaced). Suites, the bench and the efficiency measurements all use these.
import type * as tf from '@tensorflow/tfjs';
import type { DecodeState } from './interface.ts';

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Bytes of one buffer as the engine counts them (float32/int32 4 per element, bool 1). */
export function bufferBytes(t: tf.Tensor): number {
  return t.size * (BYTES_PER_ELEMENT[t.dtype] ?? 4);
}

/** Every tensor object a state references (disposal works per tensor object, not per buffer). */
function stateTensors(state: DecodeState): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const layer of state.layers) for (const v of Object.values(layer)) if (typeof v !== 'number' && v) out.push(v);
  return out;
}

/**
 * The distinct buffers a decoding state holds. A buffer referenced from several layers (one shared KV
 * cache, a reshape of another tensor) shares its dataId and is counted once: these are the bytes the
 * cache really occupies.
 */
export function stateBuffers(state: DecodeState): tf.Tensor[] {
  const seen = new Set<unknown>();
  return stateTensors(state).filter((t) => !seen.has(t.dataId) && seen.add(t.dataId));
}

export function stateBytes(state: DecodeState): number {
  return stateBuffers(state).reduce((s, t) => s + bufferBytes(t), 0);
}

/** Dispose the tensors of `old` that `next` does not hold (compared by tensor id). */
export function disposeReplaced(old: DecodeState, next: DecodeState): void {
  const keep = new Set(stateTensors(next).map((t) => t.id));
  for (const t of stateTensors(old)) {
    if (keep.has(t.id) || t.isDisposed) continue;
    keep.add(t.id);
    t.dispose();
  }
}

/** Dispose every tensor of a state. */
export function disposeState(state: DecodeState): void {
  disposeReplaced(state, { pos: state.pos, layers: [] });
}
