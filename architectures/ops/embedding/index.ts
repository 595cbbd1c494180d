// The embedding lookup the model calls: the wasm kernel where it applies, else the reference.
import type * as tf from '@tensorflow/tfjs';
import { embedRowsPlain } from './reference.ts';
import { gatherRowsWasm } from './wasm.ts';

/**
 * Embedding lookup: table [V, D] at ids (int32, any shape) -> [...ids.shape, D]. Forward: gather. Gradient:
 * a scatter-add of dy into the table's rows (JS on wasm), else onehot^T @ dy as one 2-D matMul: the wasm
 * backend has no UnsortedSegmentSum (gather's own gradient).
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const dim = table.shape[1];
  const fast = gatherRowsWasm(table, ids);
  return (fast ?? embedRowsPlain(table, ids)).reshape([...ids.shape, dim]);
}
