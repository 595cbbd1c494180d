// Synthetic task episodes, shared by the retrieval and in-context-learning suites.
//
// An episode is a token sequence with answer spans: the model reads the tokens and must produce the
// answer spans itself. Training turns an episode into a window whose loss mask is 1 exactly on the
// answer tokens; evaluation feeds the prompt and decodes every answer greedily (./score.ts).
//
// Disjointness: every task draws its training episodes from the 'train' side (train-split haystacks,
// binding sets of even hash parity) and its evaluation episodes from the 'test' side (test-split
// haystacks, odd parity), with independent seeds; sides are fixed by hashes, the same on every run.
import { hashString } from '../../architectures/layers.ts';
import type { Corpus } from '../../harness/data/corpus.ts';
import { Rng } from '../../harness/data/rng.ts';
import type { Window, WindowStream } from '../../harness/data/streams.ts';
import { sourceVersion } from '../../harness/hash.ts';

/** Training episodes come from 'train', evaluation episodes from 'test'. */
export type Side = 'train' | 'test';

/** One answer span: tokens[start .. start + answer.length) are the answer. */
export interface Query {
  start: number;
  answer: number[];
  /** Anything a suite wants to group by (e.g. the queried needle's depth). */
  info?: Record<string, number | string>;
}

export interface Episode {
  /** Prompt and answers interleaved; the answers are the spans named in `queries`. */
  tokens: Int32Array;
  /** In increasing order of start, non-overlapping. */
  queries: Query[];
}

/**
 * A task: a seeded episode generator over settings S (plain data: needles, pairs, shots, ...).
 * `episode` returns exactly `length` tokens, or null when the setting does not fit in that length.
 */
export interface EpisodeTask<S> {
  readonly name: string;
  /** Everything that shapes the episodes (goes into cache keys and the manifest). */
  readonly spec: Record<string, unknown>;
  episode(rng: Rng, length: number, setting: S, side: Side): Episode | null;
  /** Probability of an exact match by guessing uniformly among well-formed answers. */
  chance(setting: S): number;
  /** Score of the best context-blind shortcut (e.g. copying any value present in the context). */
  shortcut(setting: S): number;
  /** A short label for a setting ('N4/R2', 'k8'). */
  label(setting: S): string;
}

/** Loss mask of an episode as a training window: target i (token i+1) counts iff it is an answer token. */
export function answerMask(ep: Episode): Float32Array {
  const mask = new Float32Array(ep.tokens.length - 1);
  for (const q of ep.queries) for (let j = 0; j < q.answer.length; j++) {
    const p = q.start + j;
    if (p >= 1) mask[p - 1] = 1;
  }
  return mask;
}

/**
 * The training stream of a task: each window is one episode of seq+1 tokens drawn from the 'train'
 * side, its setting chosen uniformly among `settings` that fit. The loss is on the answers only.
 */
export function taskStream<S>(task: EpisodeTask<S>, settings: S[], extraSpec: Record<string, unknown> = {}): WindowStream {
  if (settings.length === 0) throw new Error(`task ${task.name}: no training settings`);
  return {
    spec: { kind: 'task', task: task.name, ...task.spec, settings, side: 'train', taskCode: sourceVersion(['suites/tasks']), ...extraSpec },
    window(rng: Rng, seq: number): Window {
      for (let attempt = 0; attempt < 64; attempt++) {
        const s = settings[rng.int(settings.length)]!;
        const ep = task.episode(rng, seq + 1, s, 'train');
        if (ep) return { tokens: ep.tokens, mask: answerMask(ep) };
      }
      throw new Error(`task ${task.name}: no training setting fits a window of ${seq + 1} tokens`);
    },
  };
}

/**
 * A well-mixed 32-bit hash of a string: FNV-1a (architectures/layers.ts) followed by the murmur3
 * finaliser. FNV-1a alone is unusable for parity and small moduli: its low bit depends only on how many
 * odd bytes the string holds, so every permutation of the same symbols would land on the same side.
 */
export function mixedHash(s: string): number {
  return fmix32(hashString(s));
}

/** The murmur3 32-bit finaliser: every output bit depends on every input bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seed of one evaluation cell: independent of the training order (which uses the unit seed directly). */
export function evalSeed(seed: number, ...parts: (string | number)[]): number {
  return mixedHash(`eval|${seed}|${parts.join('|')}`);
}

/**
 * Which side a binding set belongs to: the parity of a hash of its sorted (key, value) pairs; even for
 * training, odd for evaluation. Generators redraw until the parity matches their side, so no evaluation
 * binding set can occur in training, by construction. The parity of a hash of the whole set carries no
 * information about any single binding, so (unlike held-out symbols) it teaches the model no prior.
 */
export function bindingSide(pairs: readonly (readonly (number | string)[])[]): Side {
  const key = pairs.map((p) => p.join(':')).sort().join('|');
  return mixedHash(`bindings|${key}`) % 2 === 0 ? 'train' : 'test';
}

/**
 * Rejection sampling onto one side: `draw()` until `sideOf` of the draw is `side` (at most 1,000 tries,
 * then an error naming `what`). Every generator that splits by a hash of what it drew goes through here.
 */
export function drawOnSide<T>(side: Side, what: string, draw: () => T, sideOf: (t: T) => Side): T {
  for (let tries = 0; tries < 1000; tries++) {
    const t = draw();
    if (sideOf(t) === side) return t;
  }
  throw new Error(`${what}: no ${side}-side draw in 1000 tries`);
}

/** A fixed, hash-decided held-out set: true for about 1/every of the items, the same on every run. */
export function heldOut(item: string, every: number): boolean {
  return mixedHash(`heldout|${item}`) % every === 0;
}

/**
 * Haystack text of one corpus split, with every byte outside printable ASCII (and newline) replaced by a
 * space: task symbols (bytes 128-255, control markers) then never occur in the haystack.
 */
export class Haystack {
  private static readonly made = new Map<string, Haystack>();
  private constructor(readonly bytes: Uint8Array) {}

  static of(corpus: Corpus, side: Side): Haystack {
    const key = `${corpus.sha256}|${side}`;
    let h = Haystack.made.get(key);
    if (!h) {
      const src = corpus.splits[side];
      const clean = new Uint8Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const b = src[i]!;
        clean[i] = b === 10 || (b >= 32 && b < 127) ? b : 32;
      }
      h = new Haystack(clean);
      Haystack.made.set(key, h);
    }
    return h;
  }

  /** n bytes from a random offset. */
  take(rng: Rng, n: number): Uint8Array {
    if (n <= 0) return new Uint8Array(0);
    if (n > this.bytes.length) throw new Error(`haystack of ${this.bytes.length} bytes cannot give ${n}`);
    const start = rng.int(this.bytes.length - n + 1);
    return this.bytes.subarray(start, start + n);
  }
}

/** k distinct items drawn from `pool`. */
export function sample<T>(rng: Rng, pool: readonly T[], k: number): T[] {
  if (k > pool.length) throw new Error(`cannot draw ${k} distinct items from ${pool.length}`);
  const a = [...pool];
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

/** Bytes of an ASCII string. */
export const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
