// Retention mixers: RetNet's multi-scale retention (MSR) and YOCO's gated retention assembled from their
// parallel, chunkwise and recurrent forms (the kernels: ops/retention/), plus the output path both share.
// The math follows the reference code exactly (torchscale MultiScaleRetention; YOCO gate_recurrent.py),
// quirks included; fixtures/golden/README.md spells it out.
import * as tf from '@tensorflow/tfjs';
import type { LayerState, ModelConfig } from './interface.ts';
import { linear } from './layers.ts';
import { silu } from './ops/activation/reference.ts';
import { mergeHeads } from './ops/attention/index.ts';
import { rmsNorm } from './ops/norm/index.ts';
import type { Mixer } from './stack.ts';

export const RETENTION_FORMS = ['parallel', 'chunkwise', 'recurrent'] as const;
export type RetentionForm = (typeof RETENTION_FORMS)[number];

/** A retention mixer also exposes each of its forms (the golden check runs all of them). */
export interface RetentionMixer extends Mixer {
  forms: Record<RetentionForm, (x: tf.Tensor3D, chunk?: number) => tf.Tensor3D>;
}

/** The form a retention mixer's forward uses: mixer option `form` (default parallel). */
export function retentionForm(cfg: ModelConfig): RetentionForm {
  const form = String(cfg.mixer.form ?? 'parallel') as RetentionForm;
  if (!RETENTION_FORMS.includes(form)) throw new Error(`unknown retention form '${form}'; valid: ${RETENTION_FORMS.join(', ')}`);
  return form;
}

/** What a retention layer supplies; retentionMixer() assembles its forms, forward, prefill and step. */
export interface RetentionParts<P extends { g: tf.Tensor }> {
  form: RetentionForm;
  chunk: number;
  /** x [B,T,D] at absolute positions start.. -> the projected, position-encoded q, k, v, gate g, ... */
  project(x: tf.Tensor3D, start: number): P;
  /** Retention over a whole prompt, o [B,H,T,Dv]: the parallel form (c = null) or the chunkwise one. */
  retain(pr: P, c: number | null): tf.Tensor;
  /** The recurrent state after the prompt, in closed form (no loop over tokens). */
  promptState(pr: P, t: number): LayerState;
  /** One token at position pos: its retention output o [B,H,1,Dv] (before the output path) and the next state. */
  recur(pr: P, state: LayerState, pos: number): { o: tf.Tensor; state: LayerState };
  /** The state before the first token. */
  initial(batch: number): LayerState;
  /** The output path: o [B,H,T,Dv], gate g -> y [B,T,D]. */
  output(o: tf.Tensor, g: tf.Tensor): tf.Tensor3D;
  mixFlopsPerToken(seq: number): number;
}

export function retentionMixer<P extends { g: tf.Tensor }>(parts: RetentionParts<P>): RetentionMixer {
  const { form, chunk, project, retain, output } = parts;
  const step = (x: tf.Tensor3D, state: LayerState, pos: number) => {
    const pr = project(x, pos);
    const r = parts.recur(pr, state, pos);
    return { y: output(r.o, pr.g), state: r.state };
  };
  const whole = (x: tf.Tensor3D, c: number | null) => {
    const pr = project(x, 0);
    return { y: output(retain(pr, c), pr.g), pr };
  };
  const forms: RetentionMixer['forms'] = {
    parallel: (x) => whole(x, null).y,
    chunkwise: (x, c = chunk) => whole(x, c).y,
    recurrent: (x) => scan(x, parts.initial(x.shape[0]), 0, step).y,
  };
  return {
    forms,
    forward: (x) => forms[form](x),
    // The inference path: a prompt longer than the chunk runs chunkwise whatever the forward form (O(T C)
    // time and memory, not the parallel form's O(T^2)); the state is the recurrent one, in closed form.
    // (RetNet's chunkwise output differs from the parallel one only by the group-norm eps quirk.)
    prefill(x) {
      if (form === 'recurrent') return scan(x, parts.initial(x.shape[0]), 0, step);
      const t = x.shape[1];
      const { y, pr } = whole(x, form === 'chunkwise' || t > chunk ? chunk : null);
      return { y, state: parts.promptState(pr, t) };
    },
    step,
    mixFlopsPerToken: parts.mixFlopsPerToken,
  };
}

/** y = (silu(g) ⊙ GroupRMSNorm_eps(o)) W_out.  o [B,H,T,Dv] (norm per head, no weight), g [B,T,H*Dv]. */
export function gatedOutput(o: tf.Tensor, g: tf.Tensor, wOut: tf.Tensor, eps: number): tf.Tensor3D {
  return linear(tf.mul(silu(g), mergeHeads(rmsNorm(o, null, eps))), wOut) as tf.Tensor3D;
}

/** The recurrent form over a whole sequence: one `step` per token from `state` (for checks and the 'recurrent' form). */
export function scan(x: tf.Tensor3D, state: LayerState, start: number,
                     step: (x: tf.Tensor3D, state: LayerState, pos: number) => { y: tf.Tensor3D; state: LayerState }): { y: tf.Tensor3D; state: LayerState } {
  const ys: tf.Tensor3D[] = [];
  const t = x.shape[1];
  for (let i = 0; i < t; i++) {
    const r = step(x.slice([0, i, 0], [-1, 1, -1]), state, start + i);
    ys.push(r.y);
    state = r.state;
  }
  return { y: tf.concat(ys, 1), state };
}
