// Self-generated replay data (self-decompression, TG-SFT): the pretrained model writes it itself.
// Tree generation: each short prompt is continued `branching[0]` ways by `segment` sampled tokens, each of
// those `branching[1]` ways, ... for L levels (prefill of the prefix + step, the architecture's real
// decoding path), then the leaves are de-duplicated (character n-gram Jaccard, harness/generate.ts).
// The ablation: the same number of sequences, each sampled independently from a prompt to the same length.
import type { LanguageModel } from '../../architectures/interface.ts';
import { Rng } from '../../harness/data/rng.ts';
import { dedupe, generate } from '../../harness/generate.ts';

export interface TreeSettings {
  /** Prompts: the first `promptBytes` bytes of `prompts` seeded line starts of A's training split. */
  prompts: number;
  promptBytes: number;
  /** N_i: children of every node at level i (L = branching.length levels). */
  branching: number[];
  /** Tokens sampled per level. */
  segment: number;
  temperature: number;
  /** De-duplication: character n-grams, and the Jaccard similarity at which a leaf counts as a duplicate. */
  ngram: number;
  threshold: number;
  /** Rows decoded together. */
  batch: number;
}

export interface Replay {
  /** The replay texts, joined by a blank line (a byte stream for training). */
  bytes: Uint8Array;
  /** Sequences sampled, and kept after de-duplication. */
  generated: number;
  kept: number;
  tokens: number;
  seconds: number;
}

/** Seeded prompts: `promptBytes` bytes from the start of random lines of `text`. */
export function linePrompts(text: Uint8Array, s: TreeSettings, seed: number): Int32Array[] {
  const rng = new Rng(seed * 31 + 5);
  const out: Int32Array[] = [];
  for (let tries = 0; out.length < s.prompts && tries < 1000 * s.prompts; tries++) {
    const at = text.indexOf(10, rng.int(text.length - s.promptBytes - 1)) + 1; // after a newline
    if (at <= 0 || at + s.promptBytes > text.length) continue;
    const p = text.subarray(at, at + s.promptBytes);
    if (p.every((b) => b > 32 && b < 127)) out.push(Int32Array.from(p)); // printable, no blank lines
  }
  if (out.length < s.prompts) throw new Error(`forgetting: found only ${out.length} of ${s.prompts} prompts`);
  return out;
}

/** Sequences joined by a blank line, as bytes. */
function joined(seqs: Int32Array[]): Uint8Array {
  return Uint8Array.from(seqs.flatMap((q, i) => [...(i ? [10, 10] : []), ...q]));
}

/** One character per byte, for the n-gram de-duplication. */
const asText = (q: Int32Array): string => String.fromCharCode(...q);

/** Tree generation, then de-duplication of the leaves. */
export async function treeReplay(model: LanguageModel, prompts: Int32Array[], s: TreeSettings, seed: number): Promise<Replay> {
  const rng = new Rng(seed * 7 + 11);
  let nodes = prompts;
  let tokens = 0, seconds = 0;
  for (const n of s.branching) {
    const rows = nodes.flatMap((p) => Array.from({ length: n }, () => p));
    const g = await generate(model, rows, s.segment, { temperature: s.temperature, rng, batch: s.batch });
    tokens += g.tokens;
    seconds += g.seconds;
    nodes = rows.map((p, i) => Int32Array.from([...p, ...g.continuations[i]!]));
  }
  const kept = dedupe(nodes.map(asText), { n: s.ngram, threshold: s.threshold }).map((i) => nodes[i]!);
  return { bytes: joined(kept), generated: nodes.length, kept: kept.length, tokens, seconds };
}

/** `count` sequences sampled independently from the prompts (in turn) to the tree leaves' length: the ablation. */
export async function uniformReplay(model: LanguageModel, prompts: Int32Array[], s: TreeSettings, count: number, seed: number): Promise<Replay & { distinct: number }> {
  const rng = new Rng(seed * 7 + 13);
  const rows = Array.from({ length: count }, (_, i) => prompts[i % prompts.length]!);
  const g = await generate(model, rows, s.segment * s.branching.length, { temperature: s.temperature, rng, batch: s.batch });
  const seqs = rows.map((p, i) => Int32Array.from([...p, ...g.continuations[i]!]));
  const distinct = dedupe(seqs.map(asText), { n: s.ngram, threshold: s.threshold }).length;
  return { bytes: joined(seqs), generated: count, kept: count, distinct, tokens: g.tokens, seconds: g.seconds };
}
