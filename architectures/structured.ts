// Structured prompting (Hao et al. 2022, "Structured Prompting: Scaling In-Context Learning to 1,000
// Examples"), generic over StackedLM models whose mixers offer the StructuredMixer hooks:
//   - demonstrations are split into M groups; each group is encoded independently (its own causal
//     attention only), at positions right-aligned so that every group ends where the test input starts;
//   - every test token attends to all groups' keys (all visible) and causally to the test tokens' own
//     keys, with ln M added to the logits of its own keys (the "rescaled attention"):
//       Attn(q) = sum_j exp(s_j) v_j / Z over group keys j, plus M exp(s_i) v_i / Z over own keys i,
//     Z the same sums without v. With M identical groups this is exactly ordinary attention over one
//     group followed by the test tokens; with M = 1 it is ordinary causal attention on the concatenation.
// The model-level part (embedding, blocks, head) lives here; each mixer supplies encodeAt/merge/extend.
// kvStructured() builds those three for any attention mixer whose cache is rotated keys and values.
import * as tf from '@tensorflow/tfjs';
import type { DecodeState, LayerState, StructuredContext, StructuredPrompting } from './interface.ts';
import { cachedCausalMask } from './layers.ts';
import type { StackedLM, StructuredMixer } from './stack.ts';

/**
 * Additive mask [T, S_ctx + S_own] for T test queries (the last T of the S_own own keys): every context key
 * visible (0); own keys causal (-1e9 after the query), with `ownBias` added where visible.
 */
export function structuredMask(t: number, sCtx: number, sOwn: number, ownBias: number): tf.Tensor2D {
  const s = sCtx + sOwn;
  const m = new Float32Array(t * s);
  const offset = sOwn - t;
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < sOwn; j++) m[i * s + sCtx + j] = j <= i + offset ? ownBias : -1e9;
  }
  return tf.tensor2d(m, [t, s]);
}

/**
 * The StructuredMixer of an attention mixer with a {k, v} cache (keys already position-encoded, sequence
 * on axis 2 of both): `project(x, start)` gives q, k, v for x at absolute positions start..; `attend(q, k, v,
 * mask)` is the mixer's own attention over those keys with an additive mask [T, S], output-projected.
 */
export function kvStructured(
  project: (x: tf.Tensor3D, start: number) => { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor },
  attend: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor2D) => tf.Tensor3D,
): StructuredMixer {
  return {
    encodeAt(x, start) {
      const { q, k, v } = project(x, start);
      const t = x.shape[1];
      return { y: attend(q, k, v, cachedCausalMask(t, t)), state: { k, v } };
    },
    merge(states) {
      return {
        ck: states.length === 1 ? (states[0]!.k as tf.Tensor) : tf.concat(states.map((s) => s.k as tf.Tensor), 2),
        cv: states.length === 1 ? (states[0]!.v as tf.Tensor) : tf.concat(states.map((s) => s.v as tf.Tensor), 2),
      };
    },
    extend(x, state, pos, ownBias) {
      const { q, k, v } = project(x, pos);
      let ck = state.ck as tf.Tensor, cv = state.cv as tf.Tensor;
      const b = x.shape[0];
      if (ck.shape[0] === 1 && b > 1) { // groups encoded once (batch 1), shared by a batch of test inputs
        ck = tf.tile(ck, [b, ...ck.shape.slice(1).map(() => 1)]);
        cv = tf.tile(cv, [b, ...cv.shape.slice(1).map(() => 1)]);
      }
      const ownK = state.k ? tf.concat([state.k as tf.Tensor, k], 2) : k;
      const ownV = state.v ? tf.concat([state.v as tf.Tensor, v], 2) : v;
      const mask = tf.tidy(() => structuredMask(x.shape[1], ck.shape[2]!, ownK.shape[2]!, ownBias));
      const y = attend(q, tf.concat([ck, ownK], 2), tf.concat([cv, ownV], 2), mask);
      mask.dispose();
      return { y, state: { ck, cv, k: ownK, v: ownV } };
    },
  };
}

type StructuredDecodeState = DecodeState & { ownBias: number };

/**
 * Structured prompting for a StackedLM, or undefined when some layer's mixer lacks the hooks (then the
 * model must not declare capabilities.structuredPrompting).
 */
export function stackedStructured(lm: StackedLM): StructuredPrompting | undefined {
  const hooks = lm.blocks.map((b) => b.mixer.structured);
  if (hooks.some((h) => !h)) return undefined;
  const mixers = hooks as StructuredMixer[];

  const extend = (x: tf.Tensor3D, layers: LayerState[], pos: number, ownBias: number) => {
    const next: LayerState[] = [];
    lm.blocks.forEach((b, l) => {
      const r = mixers[l]!.extend(b.mixIn(x), layers[l]!, pos, ownBias);
      x = b.ffn(tf.add(x, r.y) as tf.Tensor3D);
      next.push(r.state);
    });
    return { x, layers: next };
  };

  return {
    encodeGroups(groups, end) {
      if (groups.length === 0) throw new Error('structured prompting needs at least one group');
      const lens = groups.map((g) => g.shape[1]);
      const at = end ?? Math.max(...lens);
      if (lens.some((n) => n > at)) throw new Error(`a group is longer (${Math.max(...lens)}) than the position it must end at (${at})`);
      // Groups of equal length are independent rows of one batch (same positions): encode them together,
      // then split every state tensor back along the batch axis, group by group, in the given order.
      const perLayer: LayerState[][] = lm.blocks.map(() => new Array<LayerState>(groups.length));
      const byLen = new Map<number, number[]>();
      groups.forEach((g, i) => byLen.set(g.shape[1], [...(byLen.get(g.shape[1]) ?? []), i]));
      for (const [len, idx] of byLen) {
        const rows = idx.map((i) => groups[i]!.shape[0]);
        let x = lm.io.embed(idx.length === 1 ? groups[idx[0]!]! : tf.concat(idx.map((i) => groups[i]!), 0));
        lm.blocks.forEach((b, l) => {
          const r = mixers[l]!.encodeAt(b.mixIn(x), at - len);
          x = b.ffn(tf.add(x, r.y) as tf.Tensor3D);
          if (idx.length === 1) {
            perLayer[l]![idx[0]!] = r.state;
            return;
          }
          const parts = Object.entries(r.state).map(([k, v]) => [k, v instanceof tf.Tensor ? tf.split(v, rows, 0) : null, v] as const);
          idx.forEach((gi, j) => {
            perLayer[l]![gi] = Object.fromEntries(parts.map(([k, split, v]) => [k, split ? split[j]! : v]));
          });
        });
      }
      return { groups: groups.length, end: at, layers: perLayer.map((s, l) => mixers[l]!.merge(s)) };
    },
    prefill(ctx: StructuredContext, tokens, opts = {}) {
      const ownBias = Math.log(ctx.groups);
      const { x, layers } = extend(lm.io.embed(tokens), ctx.layers, ctx.end, ownBias);
      const t = x.shape[1];
      const last = opts.allLogits ? x : (x.slice([0, t - 1, 0], [-1, 1, -1]) as tf.Tensor3D);
      const state: StructuredDecodeState = { pos: ctx.end + t, layers, ownBias };
      return { logits: lm.io.logits(last), state };
    },
    step(state, token) {
      const { ownBias } = state as StructuredDecodeState;
      const { x, layers } = extend(lm.io.embed(token.reshape([-1, 1])), state.layers, state.pos, ownBias);
      const next: StructuredDecodeState = { pos: state.pos + 1, layers, ownBias };
      return { logits: lm.io.logits(x).squeeze([1]) as tf.Tensor2D, state: next };
    },
  };
}

/**
 * Attach structured prompting to a StackedLM and declare the capability, exactly when every layer's mixer
 * implements the hooks (a sliding-window Transformer, for one, does not).
 */
export function withStructuredPrompting<T extends StackedLM>(lm: T): T & { structured?: StructuredPrompting } {
  const structured = stackedStructured(lm);
  if (!structured) return lm;
  lm.capabilities.structuredPrompting = true;
  return Object.assign(lm, { structured });
}
