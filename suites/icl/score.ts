// Scoring ICL demonstration sets on the real inference path, greedy exact match of every query's answer.
// Conventional ICL: the shared decoder (./tasks/score.ts decodeEpisodes: prefill + step) on prompts of
// the demonstrations truncated to the context. Structured prompting: the model's own path (groups
// encoded independently, then the query with prefill + step), decoded the same way: the answer's length
// in tokens, feeding the model's own greedy output.
import * as tf from '@tensorflow/tfjs';
import type { DecodeState, LanguageModel, StructuredContext, StructuredPrompting } from '../../architectures/interface.ts';
import { readAndDispose } from '../../architectures/ops/read.ts';
import {
  answerRoom, answerTokens, groupDemos, groupTokensOf, iclEpisode, queriesOf, queryTokens, truncateToContext, type IclFormat, type Pair,
} from './episodes.ts';
import { argmaxIds, decodeEpisodes } from '../tasks/score.ts';

export interface ScoredItem {
  query: Pair;
  /** The demonstrations the model saw for this query (after truncation, for conventional ICL). */
  seen: Pair[];
  correct: boolean;
}

export interface ScoreOptions {
  format: IclFormat;
  /** The model's context (training length): prompts never go beyond it. */
  context: number;
  /** Queries decoded together. */
  batch: number;
}

/** Conventional ICL: per query, the last demonstrations that fit the context, then the query. */
export async function scoreConventional(model: LanguageModel, demos: Pair[], o: ScoreOptions): Promise<ScoredItem[]> {
  return (await scoreConventionalMany(model, [demos], o))[0]!;
}

/** scoreConventional over several demonstration lists, decoded together (equal-length prompts share batches). */
export async function scoreConventionalMany(model: LanguageModel, lists: Pair[][], o: ScoreOptions): Promise<ScoredItem[][]> {
  const items = lists.map((demos) => queriesOf(demos).map((q) => ({ query: q, seen: truncateToContext(o.format, demos, q.input, o.context) })));
  const decoded = await decodeEpisodes(model, items.flat().map((it) => iclEpisode(o.format, it.seen, it.query)), o.batch);
  let at = 0;
  return items.map((list) => list.map((it) => ({ ...it, correct: decoded[at++]!.correct[0]! })));
}

/** tf.tidy for results that are not tensor containers: only tensors passed to tf.keep survive. */
function scoped<T>(f: () => T): T {
  let r: T | undefined;
  tf.tidy(() => {
    r = f();
  });
  return r as T;
}

const tensorsOf = (layers: DecodeState['layers']): Set<tf.Tensor> => {
  const out = new Set<tf.Tensor>();
  for (const l of layers) for (const v of Object.values(l)) if (v instanceof tf.Tensor) out.add(v);
  return out;
};

/** Greedy decoding of `len` tokens after equal-length query prompts, on the structured path. */
async function decodeStructured(sp: StructuredPrompting, ctx: StructuredContext, prompts: number[][], len: number): Promise<number[][]> {
  const b = prompts.length, t = prompts[0]!.length;
  const shared = tensorsOf(ctx.layers);
  const out: number[][] = prompts.map(() => []);
  let state: DecodeState | undefined;
  const release = (s?: DecodeState) => s && tf.dispose([...tensorsOf(s.layers)].filter((x) => !shared.has(x)));
  try {
    let ids = Array.from(await readAndDispose(scoped(() => {
      const r = sp.prefill(ctx, tf.tensor2d(prompts.flat(), [b, t], 'int32'));
      for (const x of tensorsOf(r.state.layers)) tf.keep(x);
      state = r.state;
      return tf.keep(argmaxIds(r.logits));
    })));
    for (let i = 0; ; i++) {
      ids.forEach((id, row) => out[row]!.push(id));
      if (i === len - 1) break;
      const prev: DecodeState = state!;
      const feed = ids;
      ids = Array.from(await readAndDispose(scoped(() => {
        const r = sp.step(prev, tf.tensor1d(feed, 'int32'));
        for (const x of tensorsOf(r.state.layers)) tf.keep(x);
        state = r.state;
        return tf.keep(argmaxIds(r.logits));
      })));
      const kept = tensorsOf(state!.layers);
      tf.dispose([...tensorsOf(prev.layers)].filter((x) => !shared.has(x) && !kept.has(x)));
    }
  } finally {
    release(state);
  }
  return out;
}

/**
 * Structured prompting: the demonstrations in the fewest groups that fit the context beside the query
 * (each group: episode start + demonstrations), encoded once (batch 1), right-aligned; every query then
 * attends to all groups (ln M on its own keys). Returns the scored items and M.
 */
export async function scoreStructured(model: LanguageModel, demos: Pair[], o: ScoreOptions): Promise<{ items: ScoredItem[]; groups: number }> {
  const sp = model.structured;
  if (!sp) throw new Error(`${model.config.arch} does not offer structured prompting`);
  const queries = queriesOf(demos);
  const longestQuery = Math.max(...queries.map((q) => queryTokens(o.format, q.input).length));
  const groups = groupDemos(o.format, demos, o.context - longestQuery - answerRoom(o.format));
  let ctx: StructuredContext | undefined;
  try {
    ctx = scoped(() => {
      const c = sp.encodeGroups(groups.map((g) => {
        const t = groupTokensOf(o.format, g);
        return tf.tensor2d(t, [1, t.length], 'int32');
      }));
      for (const x of tensorsOf(c.layers)) tf.keep(x);
      return c;
    });
    const c = ctx;
    const correct = new Map<Pair, boolean>();
    const byLen = new Map<string, Pair[]>();
    for (const q of queries) {
      const key = `${queryTokens(o.format, q.input).length}|${answerTokens(o.format, q.label).length}`;
      byLen.set(key, [...(byLen.get(key) ?? []), q]);
    }
    for (const qs of byLen.values()) {
      for (let s = 0; s < qs.length; s += o.batch) {
        const part = qs.slice(s, s + o.batch);
        const want = part.map((q) => answerTokens(o.format, q.label));
        const got = await decodeStructured(sp, c, part.map((q) => queryTokens(o.format, q.input)), want[0]!.length);
        part.forEach((q, j) => correct.set(q, got[j]!.every((v, k) => v === want[j]![k])));
      }
    }
    return { items: queries.map((q) => ({ query: q, seen: demos, correct: correct.get(q)! })), groups: groups.length };
  } finally {
    if (ctx) tf.dispose([...tensorsOf(ctx.layers)]);
  }
}
