// Retrieval tasks: multi-needle in corpus text, and multi-query associative recall (MQAR).
//
// Needles, compact format (tiny, small): MARK key '=' d d d ';' with MARK a control byte and key one
// byte in 128-255 (never in the sanitised haystack). A query is MARK key and is answered by the digits
// (no '=': measured at small, a query ending in '=' left the model at the copy-any-needle shortcut, 28/128
// at 5,000 steps, while this form reached 57/128 by step 1,000 with the same recipe: the query's last token
// is then the key itself, and the lookup is one induction step instead of two). Natural format (paper):
// " The special magic <word> number is: <digits>. " queried by "What is the special magic <word> number?
// The special magic <word> number is: ".
// Placement follows the multi-needle convention: needle i of N at depth d + i (1 - d) / N of the
// haystack; R of the N needles are queried, in random order, after the haystack.
//
// MQAR: k key-value pairs (one byte each, distinct), then the k keys again in random order, each
// answered by its value; filler (pad bytes, or text) fills the window before and between.
//
// Evaluation never meets training: evaluation haystacks come from the test split (training: train
// split); an episode's binding set (its keys with their values) has odd hash parity in evaluation and
// even parity in training (bindingSide), so no evaluation binding set occurs in training; natural-format
// words are held out by hash. Single symbols and single bindings are deliberately NOT held out: that
// teaches the model a prior against the evaluation answers (measured on tiny MQAR with half the
// bindings held out: 52% on training-side bindings, 0% on held-out ones, same model).
// Shortcut: copying any value present in the context scores 1/N (needles) or 1/k (MQAR).
import type { Corpus } from '../../harness/data/corpus.ts';
import type { Rng } from '../../harness/data/rng.ts';
import { Haystack, ascii, bindingSide, drawOnSide, heldOut, sample, type Episode, type EpisodeTask, type Query, type Side } from './episodes.ts';

export const MARK = 0x1e;
export const PAD = 0x00;
export const KEY_BYTES: readonly number[] = Array.from({ length: 128 }, (_, i) => 128 + i);

export interface NeedleSetting {
  needles: number;
  queried: number;
  /** Depth of the first needle in [0, 1); random when absent (training). */
  depth?: number;
  /**
   * Training densification: up to this many further queries (needles drawn at random, repeats allowed)
   * after the regular ones, the count uniform over what fits. Evaluation settings leave it out.
   */
  extra?: number;
}

export type NeedleFormat = 'compact' | 'natural';

/** Words naming natural-format needles; about a quarter are held out for evaluation. */
const WORDS = ('apple river candle forest marble violin harbor pepper silver tunnel meadow rocket lantern ' +
  'garden copper falcon island ladder mirror orchard pebble quartz saddle timber velvet walnut anchor beacon ' +
  'cactus dragon ember feather glacier hammer igloo jacket kettle lemon magnet needle oyster parrot quiver ' +
  'raven spider thistle umbrella vessel window yarrow zephyr basket cobalt dahlia engine fossil granite ' +
  'helmet indigo jasmine kernel lotus mango nutmeg olive piano ribbon sparrow tiger').split(' ');

function wordsOf(side: Side): string[] {
  return WORDS.filter((w) => heldOut(`word:${w}`, 4) === (side === 'test'));
}

const pow10 = (n: number) => 10 ** n;

/** n distinct values of `digits` digits, uniform. */
function drawValues(rng: Rng, n: number, digits: number): number[] {
  const out = new Set<number>();
  while (out.size < n) out.add(rng.int(pow10(digits)));
  return [...out];
}

const digitsOf = (v: number, digits: number): number[] => ascii(String(v).padStart(digits, '0'));

export interface NeedleOptions {
  format?: NeedleFormat;
  /** Digits per value (3 compact, 5 natural by default). */
  digits?: number;
  /** Compact format: key bytes drawn from the first this many of 128-255 (default all 128). */
  keySymbols?: number;
}

/** Multi-needle retrieval in corpus text (haystacks: train split for training, test split for evaluation). */
export function needleTask(corpus: Corpus, opts: NeedleOptions = {}): EpisodeTask<NeedleSetting> {
  const format = opts.format ?? 'compact';
  const digits = opts.digits ?? (format === 'compact' ? 3 : 5);
  const keySymbols = opts.keySymbols ?? KEY_BYTES.length;
  if (!(Number.isInteger(keySymbols) && keySymbols >= 1 && keySymbols <= KEY_BYTES.length)) throw new Error(`needle keySymbols must be 1..${KEY_BYTES.length}`);
  const keyPool = KEY_BYTES.slice(0, keySymbols);
  const hay = { train: Haystack.of(corpus, 'train'), test: Haystack.of(corpus, 'test') };
  const words = { train: wordsOf('train'), test: wordsOf('test') };

  // Needle and query byte strings for one (name, value); name is a key byte or a word.
  const needleBytes = (name: number | string, v: number[]): number[] => (format === 'compact'
    ? [MARK, name as number, ascii('=')[0]!, ...v, ascii(';')[0]!]
    : [...ascii(` The special magic ${name} number is: `), ...v, ...ascii('. ')]);
  const queryBytes = (name: number | string): number[] => (format === 'compact'
    ? [MARK, name as number]
    : ascii(`\nWhat is the special magic ${name} number? The special magic ${name} number is: `));
  const separator = format === 'compact' ? ascii(';') : ascii('.');

  return {
    name: 'needle',
    spec: { format, digits, query: format === 'compact' ? 'MARK key' : 'question', keys: format === 'compact' ? (keyPool.length === KEY_BYTES.length ? '128-255' : `128-${127 + keyPool.length}`) : 'words (1/4 held out)', mark: MARK, corpus: corpus.sha256, placement: 'd + i(1-d)/N', sides: 'binding-set hash parity' },
    label: (s) => `N${s.needles}/R${s.queried}`,
    chance: () => 1 / pow10(digits),
    shortcut: (s) => 1 / s.needles,
    episode(rng, length, s, side): Episode | null {
      const { needles: n, queried: r } = s;
      if (r < 1 || r > n) throw new Error(`needle setting ${n}/${r}: queried must be in 1..needles`);
      const bound = drawOnSide(side, `needle binding set of ${n}`, () => {
        const nm: (number | string)[] = format === 'compact' ? sample(rng, keyPool, n) : sample(rng, words[side], n);
        const raw = drawValues(rng, n, digits);
        return nm.map((x, i): [number | string, number] => [x, raw[i]!]);
      }, bindingSide);
      const names = bound.map(([nm]) => nm);
      const values = bound.map(([, v]) => digitsOf(v, digits));
      const asked = sample(rng, Array.from({ length: n }, (_, i) => i), r);
      const needleParts = names.map((nm, i) => needleBytes(nm, values[i]!));
      const queryCost = (i: number) => queryBytes(names[i]!).length + digits;
      let used = needleParts.reduce((a, p) => a + p.length, 0) + asked.reduce((a, i) => a + queryCost(i), 0) + (r - 1) * separator.length;
      if (length - used < 0) return null;
      if (s.extra) {
        const more: number[] = [];
        for (let e = 0; e < s.extra; e++) {
          const i = rng.int(n);
          if (used + separator.length + queryCost(i) > length) break;
          more.push(i);
          used += separator.length + queryCost(i);
        }
        const keep = rng.int(more.length + 1);
        for (const i of more.slice(keep)) used -= separator.length + queryCost(i);
        asked.push(...more.slice(0, keep));
      }
      const h = length - used;
      const depth = s.depth ?? rng.next();
      const text = hay[side].take(rng, h);
      const depths = names.map((_, i) => depth + (i * (1 - depth)) / n);
      const offsets = depths.map((d) => Math.min(h, Math.floor(h * d)));
      const tokens = new Int32Array(length);
      let o = 0, from = 0;
      for (let i = 0; i < n; i++) {
        tokens.set(text.subarray(from, offsets[i]), o);
        o += offsets[i]! - from;
        from = offsets[i]!;
        tokens.set(needleParts[i]!, o);
        o += needleParts[i]!.length;
      }
      tokens.set(text.subarray(from), o);
      o += h - from;
      const queries: Query[] = [];
      asked.forEach((i, j) => {
        if (j > 0) {
          tokens.set(separator, o);
          o += separator.length;
        }
        const q = queryBytes(names[i]!);
        tokens.set(q, o);
        o += q.length;
        queries.push({ start: o, answer: values[i]!, info: { depth: depths[i]!, needle: i } });
        tokens.set(values[i]!, o);
        o += digits;
      });
      if (o !== length) throw new Error(`needle episode assembled ${o} of ${length} tokens`);
      return { tokens, queries };
    },
  };
}

export interface MqarSetting {
  pairs: number;
  /** Keys queried (default: all pairs). */
  queried?: number;
  /**
   * Training densification: up to this many further queries (keys drawn at random, repeats allowed)
   * after the regular ones, the count uniform over what fits. Evaluation settings leave it out.
   */
  extra?: number;
  /** With extra: always as many extra queries as fit (no filler left), instead of a uniform count. */
  fill?: boolean;
}

export interface MqarOptions {
  keySymbols?: number;
  valueSymbols?: number;
  filler?: 'pad' | 'text';
}

/** Multi-query associative recall over one-byte keys and values drawn from disjoint symbol sets. */
export function mqarTask(corpus: Corpus, opts: MqarOptions = {}): EpisodeTask<MqarSetting> {
  const nk = opts.keySymbols ?? 64, nv = opts.valueSymbols ?? 64;
  if (nk + nv > 128) throw new Error('MQAR key and value symbols must fit in bytes 128-255 together');
  const filler = opts.filler ?? 'pad';
  const keys = Array.from({ length: nk }, (_, i) => 128 + i);
  const vals = Array.from({ length: nv }, (_, i) => 128 + nk + i);
  const hay = { train: Haystack.of(corpus, 'train'), test: Haystack.of(corpus, 'test') };
  // k distinct keys bound to k distinct values, uniformly among binding sets of the side's parity
  const drawPairs = (rng: Rng, n: number, side: Side): [number, number][] => drawOnSide(side, `MQAR binding set of ${n} pairs`, () => {
    const ks = sample(rng, keys, n), vs = sample(rng, vals, n);
    return ks.map((k, i): [number, number] => [k, vs[i]!]);
  }, bindingSide);

  return {
    name: 'mqar',
    spec: { keySymbols: nk, valueSymbols: nv, filler, corpus: filler === 'text' ? corpus.sha256 : undefined, sides: 'binding-set hash parity' },
    label: (s) => `k${s.pairs}`,
    chance: () => 1 / nv,
    shortcut: (s) => 1 / s.pairs,
    episode(rng, length, s, side): Episode | null {
      const k = s.pairs, q = s.queried ?? s.pairs;
      if (k > Math.min(nk, nv) || q > k) throw new Error(`MQAR setting k=${k}, queried=${q} does not fit ${nk} keys / ${nv} values`);
      if (length - 2 * k - 2 * q < 0) return null;
      const pairs = drawPairs(rng, k, side);
      const asked = sample(rng, pairs, q);
      if (s.extra) {
        const room = Math.min(s.extra, Math.floor((length - 2 * k - 2 * q) / 2));
        for (let e = s.fill ? room : rng.int(room + 1); e > 0; e--) asked.push(pairs[rng.int(k)]!);
      }
      const gap = length - 2 * k - 2 * asked.length;
      const before = rng.int(gap + 1);
      const fill = filler === 'pad' ? new Uint8Array(gap).fill(PAD) : hay[side].take(rng, gap);
      const tokens = new Int32Array(length);
      tokens.set(fill.subarray(0, before), 0);
      let o = before;
      for (const [key, v] of pairs) {
        tokens[o++] = key;
        tokens[o++] = v;
      }
      tokens.set(fill.subarray(before), o);
      o += gap - before;
      const queries: Query[] = [];
      for (const [key, v] of asked) {
        tokens[o++] = key;
        queries.push({ start: o, answer: [v], info: { distance: o - (before + 2 * pairs.findIndex((p) => p[0] === key)) } });
        tokens[o++] = v;
      }
      return { tokens, queries };
    },
  };
}
