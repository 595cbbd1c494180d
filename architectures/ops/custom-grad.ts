// The function type tf.customGrad takes: every op here that defines its own gradient casts to it.
import type * as tf from '@tensorflow/tfjs';

/** The function type tf.customGrad takes (its inputs and a save callback). */
export type GradFunc = Parameters<typeof tf.customGrad>[0];
