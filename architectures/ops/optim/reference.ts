// The optim family's reference: one AdamW step (bias-corrected moments, decoupled weight decay) on one
// parameter, written as plain tfjs ops. host.ts is the kernel the trainer runs; optim.test.ts holds the two
// together.
import * as tf from '@tensorflow/tfjs';

/** The constants of one AdamW step over a run of elements. */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  /** Decoupled weight decay of these elements (0: none; the trainer decays matrices only). */
  decay: number;
  /** The step number, counted from 1 (bias correction). */
  t: number;
  /** Factor the gradient is scaled by first (global-norm clipping; 1: none). */
  gradScale: number;
}

/** New weights and moments after one AdamW step from gradient g (the inputs are left as they are). */
export function adamwReference(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWStep): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor } {
  return tf.tidy(() => {
    const bc1 = 1 - Math.pow(s.beta1, s.t), bc2 = 1 - Math.pow(s.beta2, s.t);
    const scaled = s.gradScale === 1 ? g : tf.mul(g, s.gradScale);
    const m1 = tf.add(tf.mul(m, s.beta1), tf.mul(scaled, 1 - s.beta1));
    const v1 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(scaled), 1 - s.beta2));
    const update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), 1e-8));
    const decayed = s.decay > 0 ? tf.mul(w, 1 - s.lr * s.decay) : w;
    return { w: tf.sub(decayed, tf.mul(update, s.lr)), m: m1, v: v1 };
  });
}
