// Reading a tensor's values on any backend: asynchronously, the only way webgpu has (its synchronous read
// needs a browser canvas). On the GPU the read also waits for the work that computes the tensor.
import * as tf from '@tensorflow/tfjs';

/** The tensor's values, read asynchronously; the tensor is disposed. */
export async function readAndDispose(t: tf.Tensor): Promise<tf.TypedArray> {
  try {
    return await t.data();
  } finally {
    t.dispose();
  }
}
