// In-context-learning episodes (the icl suite's data): a fresh random mapping from k inputs to L labels
// per episode, every label used by k/L inputs (so label frequency says nothing), n demonstrations with
// every label equally often, then a query whose input appeared among the demonstrations.
//
// Two renderings:
//   compact (tiny, small): one byte per input (128..191) and per label (192..255), an episode is
//     '\n' x1 y1 x2 y2 ... xn yn xq -> yq  (two tokens per demonstration, no separators needed because the
//     ranges are disjoint; these bytes never occur in the ASCII corpus);
//   natural (paper): words, '\n' "apple: red\n" ... "pear:" -> " red" then '\n'.
//
// Training and evaluation never share a mapping: a mapping's fingerprint (a hash of its sorted
// (input, label) pairs) is even for training episodes and odd for evaluation episodes (rejection
// sampling), so disjointness holds by construction, not by luck of the seed; tests check it. The symbols
// themselves are shared: a byte-level model can only answer with label tokens it was trained to emit,
// and what ICL must pick up from the context is the mapping, which is always new.
//
// Built on the shared synthetic-task machinery (./tasks): iclTask() is an EpisodeTask, so training
// windows come from taskStream (loss on the answers only), task models from taskModel, and
// conventional scoring from decodeEpisodes (prefill + step, greedy exact match).
//
// Shortcut scores are computed on the very episodes a model is scored on: most-frequent label in the
// context (ties broken by recency), the last demonstration's label, and the expected score of copying
// any label present (1 / number of distinct labels present). The suite reports the largest beside chance.
import { Rng } from '../../harness/data/rng.ts';
import { sourceVersion } from '../../harness/hash.ts';
import { drawOnSide, evalSeed, fmix32, type Episode, type EpisodeTask, type Query, type Side } from '../tasks/episodes.ts';

export type IclFormat = 'compact' | 'natural';
export type Arrangement = 'random' | 'clustered';

export interface IclTask {
  format: IclFormat;
  /** k: distinct inputs per mapping. */
  inputs: number;
  /** L: labels per mapping; k must be a multiple of L. */
  labels: number;
  /** Symbols drawn from: the first `inputPool` inputs and `labelPool` labels of the format's pools (default all). */
  inputPool?: number;
  labelPool?: number;
}

/** One demonstration or query: indices into the input and label pools. */
export interface Pair {
  input: number;
  label: number;
}

export interface Mapping {
  /** Pool indices of the k inputs, and each one's label (pool index). */
  pairs: Pair[];
  /** Pool indices of the L labels. */
  labels: number[];
}

export const COMPACT_INPUT_BASE = 128;
export const COMPACT_LABEL_BASE = 192;
export const COMPACT_POOL = 64;
export const EPISODE_START = 10; // '\n'

// Natural-format pools: distinct lower-case words, no word a prefix of another within a pool.
export const NATURAL_INPUTS = [
  'apple', 'river', 'candle', 'mirror', 'garden', 'pencil', 'window', 'basket', 'ladder', 'violin', 'anchor', 'blanket',
  'bottle', 'bridge', 'cactus', 'castle', 'cherry', 'cloud', 'comet', 'compass', 'cookie', 'desert', 'dragon', 'engine',
  'feather', 'forest', 'glacier', 'hammer', 'harbor', 'island', 'jacket', 'kettle', 'lantern', 'lemon', 'magnet', 'meadow',
  'needle', 'orchard', 'oyster', 'paddle', 'parrot', 'pebble', 'pepper', 'piano', 'pillow', 'planet', 'pumpkin', 'quartz',
  'rabbit', 'saddle', 'shovel', 'spider', 'statue', 'sunset', 'teapot', 'thunder', 'tiger', 'tunnel', 'turtle', 'valley',
  'wagon', 'walnut', 'wizard', 'zipper',
];
export const NATURAL_LABELS = [
  'red', 'blue', 'green', 'gold', 'gray', 'pink', 'navy', 'teal', 'jade', 'rust', 'sand', 'snow', 'mint', 'plum', 'rose', 'ruby',
  'salt', 'soot', 'wine', 'lime', 'moss', 'onyx', 'opal', 'pearl', 'peach', 'coral', 'amber', 'azure', 'beige', 'cocoa', 'cream',
  'denim', 'ebony', 'flax', 'hazel', 'ivory', 'khaki', 'lilac', 'mauve', 'ochre', 'olive', 'sepia', 'slate', 'tawny', 'umber',
  'wheat', 'cyan', 'black', 'white', 'brown', 'copper', 'silver', 'bronze', 'indigo', 'violet', 'maroon', 'orange', 'yellow',
  'purple', 'cobalt', 'crimson', 'scarlet', 'magenta', 'saffron',
];

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

export function poolSize(format: IclFormat): { inputs: number; labels: number } {
  return format === 'compact' ? { inputs: COMPACT_POOL, labels: COMPACT_POOL } : { inputs: NATURAL_INPUTS.length, labels: NATURAL_LABELS.length };
}

/** The symbol pools a task draws from. */
export function taskPools(task: IclTask): { inputs: number; labels: number } {
  const full = poolSize(task.format);
  const pools = { inputs: task.inputPool ?? full.inputs, labels: task.labelPool ?? full.labels };
  if (pools.inputs > full.inputs || pools.labels > full.labels) throw new Error(`icl: the ${task.format} pools hold ${full.inputs} inputs and ${full.labels} labels`);
  return pools;
}

/** The tokens of one demonstration (input then label). */
export function demoTokens(format: IclFormat, p: Pair): number[] {
  return [...queryTokens(format, p.input), ...answerTokens(format, p.label)];
}

/** The tokens of a query (the prompt part) and of its answer (natural: ' label' and the line end, all exact). */
export function queryTokens(format: IclFormat, input: number): number[] {
  return format === 'compact' ? [COMPACT_INPUT_BASE + input] : utf8(`${NATURAL_INPUTS[input]}:`);
}
export function answerTokens(format: IclFormat, label: number): number[] {
  return format === 'compact' ? [COMPACT_LABEL_BASE + label] : utf8(` ${NATURAL_LABELS[label]}\n`);
}

/**
 * FNV-1a over the sorted (input, label) pairs, then the murmur3 finaliser: the identity of a mapping.
 * (Without the finaliser the low bit, which picks the side, would depend only on which symbols occur,
 * never on how inputs are bound to labels.)
 */
export function mappingFingerprint(m: Mapping): number {
  const pairs = [...m.pairs].sort((a, b) => a.input - b.input);
  let h = 0x811c9dc5;
  for (const p of pairs) for (const v of [p.input, p.label]) {
    h ^= v & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return fmix32(h);
}

/** The side a mapping belongs to: training ('train', even fingerprint) or evaluation ('test', odd). */
export const sideOf = (m: Mapping): Side => (mappingFingerprint(m) % 2 === 0 ? 'train' : 'test');

/** Draw a mapping of the side: k distinct inputs, L distinct labels, each label used by k/L inputs. */
export function drawMapping(rng: Rng, task: IclTask, side: Side): Mapping {
  const pool = taskPools(task);
  if (task.inputs % task.labels !== 0) throw new Error(`icl: inputs (${task.inputs}) must be a multiple of labels (${task.labels})`);
  if (task.inputs > pool.inputs || task.labels > pool.labels) throw new Error(`icl: ${task.inputs} inputs and ${task.labels} labels do not fit pools of ${pool.inputs} and ${pool.labels}`);
  const per = task.inputs / task.labels;
  return drawOnSide(side, `icl mapping of ${task.inputs} inputs`, (): Mapping => {
    const inputs = rng.shuffle(Array.from({ length: pool.inputs }, (_, i) => i)).slice(0, task.inputs);
    const labels = rng.shuffle(Array.from({ length: pool.labels }, (_, i) => i)).slice(0, task.labels);
    const classOf = rng.shuffle(Array.from({ length: task.inputs }, (_, i) => Math.floor(i / per)));
    return { pairs: inputs.map((input, i) => ({ input, label: labels[classOf[i]!]! })), labels };
  }, sideOf);
}

/**
 * n demonstrations, every label n/L times (the first n mod L labels once more), each label's inputs
 * cycled in a shuffled order so inputs are as balanced as labels. Returned in 'random' arrangement.
 */
export function drawDemos(rng: Rng, m: Mapping, n: number): Pair[] {
  const byLabel = m.labels.map((l) => rng.shuffle(m.pairs.filter((p) => p.label === l)));
  const order = rng.shuffle([...byLabel.keys()]);
  const out: Pair[] = [];
  for (let i = 0; i < n; i++) {
    const c = order[i % order.length]!;
    const round = Math.floor(i / order.length);
    const members = byLabel[c]!;
    out.push(members[round % members.length]!);
  }
  return rng.shuffle(out);
}

/** Arrange demonstrations: shuffled (labels interleaved at random) or clustered by label (label order random). */
export function arrange(rng: Rng, demos: Pair[], how: Arrangement): Pair[] {
  const d = rng.shuffle([...demos]);
  if (how === 'random') return d;
  const labels = rng.shuffle([...new Set(d.map((p) => p.label))]);
  return labels.flatMap((l) => d.filter((p) => p.label === l));
}

/** The distinct inputs among demonstrations, in first-seen order: an evaluation set's queries. */
export function queriesOf(demos: Pair[]): Pair[] {
  const seen = new Map<number, Pair>();
  for (const p of demos) if (!seen.has(p.input)) seen.set(p.input, p);
  return [...seen.values()];
}

/** Prompt of conventional ICL: episode start, the demonstrations, the query. */
export function promptTokens(format: IclFormat, demos: Pair[], query: number): number[] {
  return [EPISODE_START, ...demos.flatMap((p) => demoTokens(format, p)), ...queryTokens(format, query)];
}

/**
 * Context positions an answer needs beyond its prompt: all but its last token are fed back while decoding
 * (compact answers need none; natural ones, ' label\n', at most the longest label's length + 1).
 */
export function answerRoom(format: IclFormat): number {
  return format === 'compact' ? 0 : Math.max(...NATURAL_LABELS.map((l) => l.length)) + 1;
}

/** The most demonstrations (the last ones) that fit, with the query and its answer, in `context` tokens. */
export function truncateToContext(format: IclFormat, demos: Pair[], query: number, context: number): Pair[] {
  let room = context - 1 - queryTokens(format, query).length - answerRoom(format);
  const kept: Pair[] = [];
  for (let i = demos.length - 1; i >= 0; i--) {
    const len = demoTokens(format, demos[i]!).length;
    if (len > room) break;
    room -= len;
    kept.unshift(demos[i]!);
  }
  return kept;
}

/**
 * Split demonstrations into the fewest groups that each fit (episode start + demonstrations) in
 * `groupTokens`, as evenly as possible, order kept.
 */
export function groupDemos(format: IclFormat, demos: Pair[], groupTokens: number): Pair[][] {
  const maxLen = Math.max(...demos.map((p) => demoTokens(format, p).length));
  const perGroup = Math.max(1, Math.floor((groupTokens - 1) / maxLen));
  const m = Math.ceil(demos.length / perGroup);
  const out: Pair[][] = [];
  let at = 0;
  for (let g = 0; g < m; g++) {
    const size = Math.floor(demos.length / m) + (g < demos.length % m ? 1 : 0);
    out.push(demos.slice(at, at + size));
    at += size;
  }
  return out;
}

/** Tokens of one group: the episode start and its demonstrations. */
export const groupTokensOf = (format: IclFormat, group: Pair[]): number[] => [EPISODE_START, ...group.flatMap((p) => demoTokens(format, p))];

/** Shortcut predictions (label pool indices, or the expected score) for a query after demonstrations. */
export function shortcutScores(demos: Pair[], query: Pair): { mostFrequent: number; copyLast: number; copyAny: number } {
  const count = new Map<number, number>();
  const lastSeen = new Map<number, number>();
  demos.forEach((p, i) => {
    count.set(p.label, (count.get(p.label) ?? 0) + 1);
    lastSeen.set(p.label, i);
  });
  let best = -1, bestCount = -1, bestLast = -1;
  for (const [l, c] of count) {
    const last = lastSeen.get(l)!;
    if (c > bestCount || (c === bestCount && last > bestLast)) [best, bestCount, bestLast] = [l, c, last];
  }
  return {
    mostFrequent: best === query.label ? 1 : 0,
    copyLast: demos.at(-1)?.label === query.label ? 1 : 0,
    copyAny: count.has(query.label) ? 1 / count.size : 0,
  };
}

export interface ShortcutSummary {
  chance: number;
  mostFrequent: number;
  copyLast: number;
  copyAny: number;
  /** The largest of the three: the score a model must clearly beat. */
  best: number;
  bestName: string;
}

/** Mean shortcut scores over (demonstrations, query) items. */
export function summariseShortcuts(items: { demos: Pair[]; query: Pair }[], labels: number): ShortcutSummary {
  const s = { mostFrequent: 0, copyLast: 0, copyAny: 0 };
  for (const it of items) {
    const r = shortcutScores(it.demos, it.query);
    s.mostFrequent += r.mostFrequent;
    s.copyLast += r.copyLast;
    s.copyAny += r.copyAny;
  }
  const n = Math.max(1, items.length);
  const out = { chance: 1 / labels, mostFrequent: s.mostFrequent / n, copyLast: s.copyLast / n, copyAny: s.copyAny / n };
  const [bestName, best] = (['mostFrequent', 'copyLast', 'copyAny'] as const).map((k) => [k, out[k]] as const).reduce((a, b) => (b[1] > a[1] ? b : a));
  return { ...out, best, bestName };
}

/** Tokens of demonstrations then a query (and its answer): one conventional-ICL episode. */
export function iclEpisode(format: IclFormat, demos: Pair[], query: Pair): Episode {
  const prompt = promptTokens(format, demos, query.input);
  const answer = answerTokens(format, query.label);
  return { tokens: Int32Array.from([...prompt, ...answer]), queries: [{ start: prompt.length, answer, info: { input: query.input } }] };
}

/** A setting: `demos` demonstrations then one query; demos 0 fills the window with demonstrations. */
export interface IclSetting {
  demos: number;
  /**
   * 'stream' (training): demonstrations drawn i.i.d. over the mapping's inputs, every label of a repeated
   * input an answer, then padding to the window (demos 0: as many as fit). 'query' (default when demos > 0):
   * a balanced set, then one query, left-padded to the window.
   */
  layout?: 'stream' | 'query';
}

/** Bytes after a 'stream' episode (never scored, never seen by scored positions: attention is causal). */
export const PAD = 0;

/**
 * The ICL task as an EpisodeTask.
 * - {demos: n, layout: 'stream'} (training): one episode of the side's mapping, n demonstrations drawn
 *   i.i.d. over its inputs (n = 0: until the window is full), then PAD; the answers are the labels of
 *   demonstrations whose input appeared earlier in the episode (each one an in-context query), so the loss
 *   counts only those. Short episodes matter: the time an induction circuit takes to form grows fast with
 *   the distance it must span, and a right-padded window costs compute but no attention span.
 * - {demos: n} ('query'): n balanced demonstrations, then a query on one of their inputs, answered by its
 *   label; left-padded with episode-start bytes to the requested length (null when it does not fit).
 */
export function iclTask(cfg: IclTask): EpisodeTask<IclSetting> {
  const pools = taskPools(cfg);
  return {
    name: 'icl',
    spec: { format: cfg.format, inputs: cfg.inputs, labels: cfg.labels, pools, disjoint: 'mapping fingerprint parity', iclCode: sourceVersion(['suites/icl/episodes.ts']) },
    episode(rng, length, setting, side) {
      const m = drawMapping(rng, cfg, side);
      const layout = setting.layout ?? (setting.demos > 0 ? 'query' : 'stream');
      if (layout === 'query') {
        const demos = drawDemos(rng, m, setting.demos);
        const qs = queriesOf(demos);
        const ep = iclEpisode(cfg.format, demos, qs[rng.int(qs.length)]!);
        const pad = length - ep.tokens.length;
        if (pad < 0) return null;
        const tokens = new Int32Array(length).fill(EPISODE_START);
        tokens.set(ep.tokens, pad);
        return { tokens, queries: ep.queries.map((q) => ({ ...q, start: q.start + pad })) };
      }
      // demonstrations drawn i.i.d. over the mapping's inputs: then past label counts say nothing about the
      // next label (an exactly balanced list would leak it: the rarest label so far would be likeliest)
      const shortest = Math.min(...m.pairs.map((p) => demoTokens(cfg.format, p).length));
      const count = setting.demos > 0 ? setting.demos : Math.ceil(length / shortest) + 1;
      const demos = Array.from({ length: count }, () => m.pairs[rng.int(m.pairs.length)]!);
      const tokens = new Int32Array(length);
      tokens[0] = EPISODE_START;
      const queries: Query[] = [];
      const seen = new Set<number>();
      let at = 1;
      for (const p of demos) {
        const head = demoTokens(cfg.format, p).slice(0, queryTokens(cfg.format, p.input).length);
        const answer = answerTokens(cfg.format, p.label);
        if (at + head.length + answer.length > length) break;
        tokens.set(head, at);
        tokens.set(answer, at + head.length);
        if (seen.has(p.input)) queries.push({ start: at + head.length, answer });
        seen.add(p.input);
        at += head.length + answer.length;
      }
      tokens.fill(setting.demos > 0 ? PAD : EPISODE_START, at); // the rest of the window, never scored
      return { tokens, queries };
    },
    chance: () => 1 / cfg.labels,
    // context-blind: copying any label present scores 1/L once all L labels are shown (balanced sets);
    // the suite also measures the empirical shortcuts on the very items it scores
    shortcut: () => 1 / cfg.labels,
    label: (s) => (s.demos > 0 ? `${s.layout === 'stream' ? 'stream' : 'query'}${s.demos}` : 'fill'),
  };
}

/** An evaluation demonstration set: its mapping and demonstrations (random arrangement). */
export interface DemoSet {
  mapping: Mapping;
  demos: Pair[];
}

/** K demonstration sets of n demonstrations from the test side, deterministic in (seed, experiment, n). */
export function evalDemoSets(task: IclTask, n: number, count: number, seed: number, experiment: string): DemoSet[] {
  return Array.from({ length: count }, (_, i) => {
    const rng = new Rng(evalSeed(seed, 'icl', experiment, n, 'set', i));
    const mapping = drawMapping(rng, task, 'test');
    return { mapping, demos: drawDemos(rng, mapping, n) };
  });
}

/** Permutation p of a demonstration set in an arrangement, deterministic in (seed, experiment, n, set, p). */
export function permutation(set: DemoSet, how: Arrangement, seed: number, experiment: string, n: number, setIndex: number, p: number): Pair[] {
  return arrange(new Rng(evalSeed(seed, 'icl', experiment, n, how, setIndex, 'perm', p)), set.demos, how);
}
