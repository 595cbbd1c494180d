// The correctness gate of the efficiency suite: on a short input, prefill (all logits; last only) and
// steps must agree with forward. A model that fails it gets no speed records. The differences are read
// once, asynchronously (webgpu has no synchronous read).
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../../architectures/interface.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import { tokenIds } from './calls.ts';
import type { EfficiencySettings } from './settings.ts';

export async function gate(model: LanguageModel, s: EfficiencySettings['gate'], seed: number): Promise<{ ok: boolean; relDiff: number; note: string }> {
  const { length: t, steps: k, batch: b } = s;
  const p = t - k;
  try {
    const ids = tokenIds(model.config.vocab, b, t, seed + 1);
    let pos = 0;
    // [max |logit| of forward, then the max |difference| of each compared call]
    const maxima = tf.tidy(() => {
      const all = tf.tensor2d(ids, [b, t], 'int32');
      const ref = model.forward(all);
      const diffs: tf.Tensor[] = [];
      const maxDiff = (a: tf.Tensor, c: tf.Tensor) => tf.sub(a, c).abs().max();
      const prompt = all.slice([0, 0], [-1, p]);
      const full = model.prefill(prompt, { allLogits: true });
      diffs.push(maxDiff(full.logits, ref.slice([0, 0, 0], [-1, p, -1])));
      const last = model.prefill(prompt);
      diffs.push(maxDiff(last.logits.reshape([b, -1]), ref.slice([0, p - 1, 0], [-1, 1, -1]).reshape([b, -1])));
      let state = last.state;
      for (let i = 0; i < k; i++) {
        const r = model.step(state, all.slice([0, p + i], [-1, 1]).reshape([b]) as tf.Tensor1D);
        diffs.push(maxDiff(r.logits, ref.slice([0, p + i, 0], [-1, 1, -1]).reshape([b, -1])));
        state = r.state;
      }
      pos = state.pos;
      return tf.stack([ref.abs().max(), ...diffs]);
    });
    const [refMax, ...diffs] = Array.from(await readAndDispose(maxima));
    const scale = Math.max(refMax!, 1e-6);
    const rel = Math.max(...diffs) / scale;
    const posOk = pos === t;
    const ok = Number.isFinite(rel) && rel <= s.tolerance && posOk;
    const note = `max |logit difference| / max |logit| = ${rel.toExponential(2)} over prefill(all logits), prefill(last) and ${k} steps `
      + `after a ${p}-token prompt (batch ${b}); tolerance ${s.tolerance}${posOk ? '' : `; state.pos ${pos} != ${t}`}`;
    return { ok, relDiff: rel, note };
  } catch (e) {
    return { ok: false, relDiff: NaN, note: `prefill/step raised: ${e instanceof Error ? e.message : String(e)}` };
  }
}
