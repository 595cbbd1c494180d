// Retrieval tasks and scoring: episodes are deterministic per seed and disjoint from training, the
// scorer is exact match on the real inference path, floor/ceiling/shortcut flags, the suite end to end.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecodeState, LanguageModel } from '../architectures/interface.ts';
import { Params } from '../architectures/layers.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { Rng } from '../harness/data/rng.ts';
import { batches } from '../harness/data/streams.ts';
import { readRecords } from '../harness/store.ts';
import { RETRIEVAL_SETTINGS } from '../suites/needle/settings.ts';
import { gridDepths, gridLengths } from '../suites/needle/suite.ts';
import { calibrationVerdict, evalEpisodes } from '../suites/tasks/calibrate.ts';
import { Haystack, answerMask, bindingSide, taskStream } from '../suites/tasks/episodes.ts';
import { MARK, mqarTask, needleTask } from '../suites/tasks/retrieval.ts';
import { accuracyRecord, decodeEpisodes, effectiveLength } from '../suites/tasks/score.ts';
import { taskConfig } from '../suites/tasks/training.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

const corpus = loadCorpus('default');
const needles = needleTask(corpus);
const mqar = mqarTask(corpus, { keySymbols: 64, valueSymbols: 64 });
const DIGIT0 = 48;

/** Needle values (as numbers) of an episode's needles: MARK key '=' d d d. */
function needleValues(tokens: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 5 < tokens.length; i++) {
    if (tokens[i] === MARK && tokens[i + 2] === 61 && tokens[i + 6] === 59) out.push(Number(String.fromCharCode(...tokens.subarray(i + 3, i + 6))));
  }
  return out;
}

describe('episodes', () => {
  it('are deterministic per seed and differ between seeds', () => {
    const a = needles.episode(new Rng(7), 256, { needles: 4, queried: 2, depth: 0.5 }, 'test')!;
    const b = needles.episode(new Rng(7), 256, { needles: 4, queried: 2, depth: 0.5 }, 'test')!;
    const c = needles.episode(new Rng(8), 256, { needles: 4, queried: 2, depth: 0.5 }, 'test')!;
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(a.queries).toEqual(b.queries);
    expect(Array.from(a.tokens)).not.toEqual(Array.from(c.tokens));
    const m1 = mqar.episode(new Rng(3), 128, { pairs: 8 }, 'train')!;
    const m2 = mqar.episode(new Rng(3), 128, { pairs: 8 }, 'train')!;
    expect(Array.from(m1.tokens)).toEqual(Array.from(m2.tokens));
    const s = taskStream(needles, [{ needles: 2, queried: 2 }]);
    const first = (seed: number) => batches(s, { batch: 3, seq: 64, seed }).next().value!.tokens;
    expect(first(1)).toEqual(first(1));
    expect(first(1)).not.toEqual(first(2));
  });

  it('have exactly the requested length, answers at their spans, and the loss mask on the answers only', () => {
    for (const [n, r] of [[1, 1], [2, 2], [4, 2], [8, 1]] as const) {
      const ep = needles.episode(new Rng(n * 10 + r), 200, { needles: n, queried: r, depth: 0.25 }, 'test')!;
      expect(ep.tokens.length).toBe(200);
      expect(ep.queries.length).toBe(r);
      expect(needleValues(ep.tokens.subarray(0, ep.queries[0]!.start - 2)).length).toBe(n);
      for (const q of ep.queries) {
        expect(Array.from(ep.tokens.subarray(q.start, q.start + 3))).toEqual(q.answer);
        expect(ep.tokens[q.start - 2]).toBe(MARK);
        // the queried key's needle holds the same digits earlier in the episode
        const key = ep.tokens[q.start - 1]!;
        const at = ep.tokens.findIndex((t, i) => t === MARK && ep.tokens[i + 1] === key);
        expect(at).toBeLessThan(q.start - 2);
        expect(Array.from(ep.tokens.subarray(at + 3, at + 6))).toEqual(q.answer);
      }
      const mask = answerMask(ep);
      expect(mask.reduce((a, b) => a + b, 0)).toBe(3 * r);
      for (const q of ep.queries) for (let j = 0; j < 3; j++) expect(mask[q.start + j - 1]).toBe(1);
    }
    // the first needle sits at the requested depth of the haystack
    const ep = needles.episode(new Rng(1), 1000, { needles: 1, queried: 1, depth: 0.5 }, 'test')!;
    const hay = 1000 - 7 - 5; // needle MARK key = d d d ;, query MARK key + 3 digits
    expect(ep.tokens.indexOf(MARK)).toBe(Math.floor(hay * 0.5));
    expect(needles.episode(new Rng(1), 20, { needles: 4, queried: 2 }, 'test')).toBeNull();
  });

  it('keep evaluation episodes and haystacks out of training', () => {
    // no evaluation episode's needles (keys and values, in order) occur in any of 20k training windows
    const sig = (tokens: ArrayLike<number>) => {
      const out: number[] = [];
      for (let i = 0; i + 6 < tokens.length; i++) if (tokens[i] === MARK && tokens[i + 2] === 61 && tokens[i + 6] === 59) out.push(...Array.from({ length: 4 }, (_, j) => tokens[i + 1 + (j ? j + 1 : 0)]!));
      return out.slice(0, 16).join(','); // the four needles (key + three digits each), not the queries
    };
    const stream = taskStream(needles, [{ needles: 4, queried: 4 }]);
    const train = batches(stream, { batch: 1000, seq: 128, seed: 0 });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const b = train.next().value!;
      for (let w = 0; w < 1000; w++) seen.add(sig(b.tokens.subarray(w * 129, w * 129 + 129)));
    }
    expect(seen.size).toBeGreaterThan(19_000);
    for (const ep of evalEpisodes(needles, { needles: 4, queried: 2, depth: 0.3 }, 128, 200, 0, 'grid')) expect(seen.has(sig(ep.tokens))).toBe(false);
    // by construction: training binding sets have even hash parity, evaluation ones odd
    const bindingsOf = (g: string) => { const v = g.split(',').map(Number); return Array.from({ length: v.length / 4 }, (_, i) => [v[4 * i]!, Number(String.fromCharCode(...v.slice(4 * i + 1, 4 * i + 4)))]); };
    for (const g of [...seen].slice(0, 2000)) expect(bindingSide(bindingsOf(g))).toBe('train');
    for (const ep of evalEpisodes(needles, { needles: 4, queried: 2, depth: 0.3 }, 128, 200, 0, 'grid')) expect(bindingSide(bindingsOf(sig(ep.tokens)))).toBe('test');
    // evaluation haystack text comes from the test split (a 64-byte run of it is found there, not in train) ...
    const ep = evalEpisodes(needles, { needles: 1, queried: 1, depth: 0.9 }, 512, 1, 0, 'hay')[0]!;
    const run = Buffer.from(Uint8Array.from(ep.tokens.subarray(100, 164)));
    expect(Buffer.from(Haystack.of(corpus, 'test').bytes).indexOf(run)).toBeGreaterThanOrEqual(0);
    expect(Buffer.from(Haystack.of(corpus, 'train').bytes).indexOf(run)).toBe(-1);
    // ... and training haystacks from the train split
    const w = batches(taskStream(needles, [{ needles: 1, queried: 1 }]), { batch: 1, seq: 511, seed: 3 }).next().value!;
    const trun = Buffer.from(Uint8Array.from(w.tokens.subarray(300, 364)));
    expect(trun.includes(MARK)).toBe(false);
    expect(Buffer.from(Haystack.of(corpus, 'train').bytes).indexOf(trun)).toBeGreaterThanOrEqual(0);
    // MQAR: no evaluation episode's bindings (in order) occur in training
    const pairsSig = (t: ArrayLike<number>, k: number) => Array.from(t).filter((x) => x !== 0).slice(0, 2 * k).join(',');
    const mseen = new Set<string>();
    const mtrain = batches(taskStream(mqar, [{ pairs: 8 }]), { batch: 1000, seq: 128, seed: 0 });
    for (let i = 0; i < 10; i++) {
      const b = mtrain.next().value!;
      for (let j = 0; j < 1000; j++) mseen.add(pairsSig(b.tokens.subarray(j * 129, j * 129 + 129), 8));
    }
    for (const e of evalEpisodes(mqar, { pairs: 8 }, 256, 100, 0, 'grid')) expect(mseen.has(pairsSig(e.tokens, 8))).toBe(false);
    const pairsOf = (g: string) => { const v = g.split(',').map(Number); return Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!]); };
    for (const g of [...mseen].slice(0, 2000)) expect(bindingSide(pairsOf(g))).toBe('train');
    for (const e of evalEpisodes(mqar, { pairs: 8 }, 256, 100, 0, 'grid')) expect(bindingSide(pairsOf(pairsSig(e.tokens, 8)))).toBe('test');
    // natural format: evaluation words are held out of training
    const natural = needleTask(corpus, { format: 'natural' });
    const words = (t: Int32Array) => [...String.fromCharCode(...t).matchAll(/special magic (\w+) number is: /g)].map((m) => m[1]!);
    const trainWords = new Set<string>(), testWords = new Set<string>();
    for (let i = 0; i < 50; i++) {
      words(natural.episode(new Rng(i), 600, { needles: 4, queried: 2 }, 'train')!.tokens).forEach((x) => trainWords.add(x));
      words(natural.episode(new Rng(i), 600, { needles: 4, queried: 2 }, 'test')!.tokens).forEach((x) => testWords.add(x));
    }
    expect(testWords.size).toBeGreaterThan(5);
    for (const x of testWords) expect(trainWords.has(x)).toBe(false);
  });

  it('densify training with repeated queries only when asked, answers still exact', () => {
    let repeats = 0;
    for (let seed = 0; seed < 20; seed++) {
      const ep = needles.episode(new Rng(seed), 129, { needles: 2, queried: 2, extra: 8 }, 'train')!;
      expect(ep.tokens.length).toBe(129);
      expect(ep.queries.length).toBeGreaterThanOrEqual(2);
      repeats += ep.queries.length - 2;
      for (const q of ep.queries) expect(Array.from(ep.tokens.subarray(q.start, q.start + 3))).toEqual(q.answer);
      const m = mqar.episode(new Rng(seed), 129, { pairs: 4, extra: 64 }, 'train')!;
      expect(m.queries.length).toBeGreaterThanOrEqual(4);
      for (const q of m.queries) {
        const key = m.tokens[q.start - 1]!;
        expect(m.tokens[m.tokens.indexOf(key) + 1]).toBe(q.answer[0]);
      }
    }
    expect(repeats).toBeGreaterThan(10);
    expect(mqar.episode(new Rng(1), 256, { pairs: 8 }, 'test')!.queries.length).toBe(8);
  });

  it('split binding sets evenly, permutations of one symbol set included (k = all symbols works on both sides)', () => {
    const rng = new Rng(5);
    const sides = { train: 0, test: 0 };
    for (let i = 0; i < 400; i++) {
      const vs = [0, 1, 2, 3, 4, 5, 6, 7];
      rng.shuffle(vs);
      sides[bindingSide(vs.map((v, j) => [128 + j, 192 + v]))]++;
    }
    expect(sides.train).toBeGreaterThan(150);
    expect(sides.test).toBeGreaterThan(150);
    const full = mqarTask(corpus, { keySymbols: 16, valueSymbols: 16 });
    expect(full.episode(new Rng(1), 64, { pairs: 16 }, 'train')!.queries.length).toBe(16);
    expect(full.episode(new Rng(1), 64, { pairs: 16 }, 'test')!.queries.length).toBe(16);
  });

  it('lay out the grid: d/11 depths and lengths from multiples of T', () => {
    expect(gridDepths(10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((d) => +(d / 11).toFixed(4)));
    expect(gridLengths([0.5, 1, 8, 1], 128)).toEqual([64, 128, 1024]);
    expect(RETRIEVAL_SETTINGS.small!.format).toBe('compact');
    expect(RETRIEVAL_SETTINGS.paper!.format).toBe('natural');
  });
});

/**
 * A stub model on the real decoding interface, answering every retrieval query exactly: after a compact
 * needle query (MARK key, then the digits so far) it reads the next digit from the needle MARK key '=';
 * otherwise it predicts by induction (the token that followed the latest earlier occurrence of the
 * longest matching suffix, up to 6 tokens). `corrupt` alters chosen predictions.
 */
function inductionModel(corrupt: (history: number[], pred: number) => number = (_, p) => p): LanguageModel {
  const needleDigit = (h: number[]): number | undefined => {
    const q = h.lastIndexOf(MARK);
    const got = h.length - q - 2; // digits already answered
    if (q < 0 || got < 0 || got > 2 || h[q + 1]! < 128) return undefined;
    const at = h.findIndex((t, i) => t === MARK && h[i + 1] === h[q + 1] && h[i + 2] === 61);
    return at >= 0 && at < q ? h[at + 3 + got] : undefined;
  };
  const predict = (h: number[]): number => {
    const digit = needleDigit(h);
    if (digit !== undefined) return corrupt(h, digit);
    for (let m = Math.min(6, h.length - 1); m >= 1; m--) {
      for (let j = h.length - m - 1; j >= 0; j--) {
        let ok = true;
        for (let t = 0; t < m && ok; t++) ok = h[j + t] === h[h.length - m + t];
        if (ok) return corrupt(h, h[j + m]!);
      }
    }
    return corrupt(h, 32);
  };
  const logitsFor = (hs: number[][]) => tf.oneHot(tf.tensor1d(hs.map(predict), 'int32'), 256).mul(10) as tf.Tensor2D;
  const history = (s: DecodeState) => s.layers[0]!.h as tf.Tensor2D;
  return {
    config: { arch: 'stub', vocab: 256, d: 1, layers: 1, heads: 1, ffn: 1, seq: 128, mixer: {} },
    params: new Params(0, true),
    capabilities: {},
    forward: () => { throw new Error('not used'); },
    prefill(tokens) {
      const hs = tokens.arraySync();
      return { logits: logitsFor(hs).expandDims(1) as tf.Tensor3D, state: { pos: tokens.shape[1], layers: [{ h: tokens.clone() }] } };
    },
    step(state, token) {
      const h = tf.concat([history(state), token.reshape([-1, 1])], 1) as tf.Tensor2D;
      return { logits: logitsFor(h.arraySync()), state: { pos: state.pos + 1, layers: [{ h }] } };
    },
    flopsPerToken: () => 0,
  };
}

describe('the scorer', () => {
  it('scores an exact retriever 100% through prefill + step, on needles and MQAR', async () => {
    const eps = [
      ...evalEpisodes(needles, { needles: 4, queried: 2, depth: 0.2 }, 160, 3, 0, 'exact'),
      ...evalEpisodes(needles, { needles: 6, queried: 2, depth: 0.7 }, 160, 3, 0, 'exact'),
    ];
    const out = await decodeEpisodes(inductionModel(), eps, 2);
    expect(out.flatMap((d) => d.correct)).toEqual(new Array(12).fill(true));
    out.forEach((d, i) => expect(d.predicted).toEqual(eps[i]!.queries.map((q) => q.answer)));
    const m = await decodeEpisodes(inductionModel(), evalEpisodes(mqar, { pairs: 8 }, 96, 4, 0, 'exact'), 4);
    expect(m.flatMap((d) => d.correct).every(Boolean)).toBe(true);
    expect(m.flatMap((d) => d.correct).length).toBe(32);
  });

  it('is exact match: one wrong digit of three makes the answer wrong', async () => {
    const isDigit = (t: number) => t >= DIGIT0 && t < DIGIT0 + 10;
    // wrong only on the third digit (two digits already decoded before it)
    const third = inductionModel((h, p) => (isDigit(h.at(-1)!) && isDigit(h.at(-2)!) && h.at(-4) === MARK ? DIGIT0 + ((p - DIGIT0 + 1) % 10) : p));
    const eps = evalEpisodes(needles, { needles: 2, queried: 2, depth: 0.4 }, 128, 4, 0, 'third');
    const out = await decodeEpisodes(third, eps, 4);
    expect(out.flatMap((d) => d.correct).some(Boolean)).toBe(false);
    out.forEach((d, i) => d.predicted.forEach((p, qi) => {
      expect(p.slice(0, 2)).toEqual(eps[i]!.queries[qi]!.answer.slice(0, 2));
      expect(p[2]).not.toBe(eps[i]!.queries[qi]!.answer[2]);
    }));
  });

  it('feeds the model its own answers: an early wrong answer token is what the model sees next', async () => {
    let sawOwn = 0;
    const wrongFirst = inductionModel((h, p) => {
      if (h.at(-2) === MARK) return DIGIT0 + ((p - DIGIT0 + 5) % 10); // first digit shifted by 5
      return p;
    });
    const spy: LanguageModel = {
      ...wrongFirst,
      step(state, token) {
        const t = token.arraySync();
        const h = (state.layers[0]!.h as tf.Tensor2D).arraySync();
        h.forEach((row, i) => { if (row.at(-2) === MARK && t[i]! >= DIGIT0) sawOwn++; });
        return wrongFirst.step(state, token);
      },
    };
    const eps = evalEpisodes(needles, { needles: 2, queried: 1, depth: 0.5 }, 96, 3, 0, 'own');
    const out = await decodeEpisodes(spy, eps, 3);
    out.forEach((d, i) => expect(d.predicted[0]![0]).toBe(DIGIT0 + ((eps[i]!.queries[0]!.answer[0]! - DIGIT0 + 5) % 10)));
    expect(out.every((d) => !d.correct[0])).toBe(true);
    expect(sawOwn).toBe(3);
  });
});

describe('records', () => {
  it('flag floor, ceiling and the shortcut', () => {
    expect(accuracyRecord('a', 0, 40, {}, 0.001, 0.25).flag).toBe('floor');
    expect(accuracyRecord('a', 1, 40, {}, 1 / 64, 0.125).flag).toBe('floor');
    expect(accuracyRecord('a', 40, 40, {}, 0.001, 0.25).flag).toBe('ceiling');
    expect(accuracyRecord('a', 12, 40, {}, 1 / 64, 0.25).flag).toBe('shortcut');
    const ok = accuracyRecord('a', 24, 40, {}, 1 / 64, 0.25);
    expect(ok.flag).toBeUndefined();
    expect(ok.ci95![0]).toBeGreaterThan(0.25);
    expect(ok.dims).toEqual({});
    expect(ok.note).toMatch(/^24\/40 exact/);
    // one needle: copying the only value is the task, not a shortcut
    expect(accuracyRecord('a', 20, 40, {}, 0.001, 1).flag).toBeUndefined();
  });

  it('calibration verdicts and effective length', () => {
    expect(calibrationVerdict(100, 256, 0.125).ok).toBe(true);
    expect(calibrationVerdict(40, 256, 0.125).ok).toBe(false); // 16%: inside the shortcut's reach and below 20%
    expect(calibrationVerdict(250, 256, 0.125).inBand).toBe(false);
    expect(effectiveLength(new Map([[64, 0.9], [128, 0.5], [256, 0.45], [512, 0.2], [1024, 0.44]]), 128)).toBe(256);
    expect(effectiveLength(new Map([[128, 0]]), 128)).toBeUndefined();
  });

  it('the suite runs end to end on tiny, and an untrained model is flagged floor', async () => {
    const out = tempDir();
    const r = await cli(['run', 'needle', '--preset', 'tiny', '--arch', 'transformer', '--out', out, '--cache', tempDir(), '--backend', 'wasm']);
    expect(r.code).toBe(0);
    const recs = readRecords(out);
    const heat = recs.filter((x) => x.metric === 'needle_accuracy');
    expect(heat.length).toBeGreaterThan(0);
    for (const h of heat) expect(Object.keys(h.dims)).toEqual(expect.arrayContaining(['needles', 'queried', 'length', 'depth']));
    const m = recs.filter((x) => x.metric === 'mqar_accuracy' && x.value === 0);
    expect(m.length).toBeGreaterThan(0);
    for (const x of m) expect(x.flag).toBe('floor');
    expect(recs.filter((x) => x.metric === 'calibration_cell_accuracy').length).toBe(2);
    expect(recs.filter((x) => x.metric === 'effective_length').length).toBe(RETRIEVAL_SETTINGS.tiny!.needle.settings.length + RETRIEVAL_SETTINGS.tiny!.mqar.pairs.length);
    expect(recs.filter((x) => x.metric === 'task_train_seconds').map((x) => x.dims.task)).toEqual(RETRIEVAL_SETTINGS.tiny!.shared ? ['retrieval'] : ['needle', 'mqar']);
  }, 120_000);

  it('trains one shared retrieval model when the preset says so', async () => {
    const tiny = RETRIEVAL_SETTINGS.tiny!;
    const saved = tiny.shared;
    tiny.shared = { init: 'scratch', train: { lr: 3e-3, warmup: 2, batch: 4, steps: 4 } };
    try {
      const out = tempDir();
      expect((await cli(['run', 'needle', '--preset', 'tiny', '--arch', 'transformer', '--out', out, '--cache', tempDir(), '--backend', 'wasm'])).code).toBe(0);
      const recs = readRecords(out);
      expect(recs.filter((x) => x.metric === 'task_train_seconds').map((x) => x.dims.task)).toEqual(['retrieval']);
      expect(recs.some((x) => x.metric === 'needle_accuracy_by_length')).toBe(true);
      expect(recs.some((x) => x.metric === 'mqar_accuracy')).toBe(true);
    } finally {
      tiny.shared = saved;
    }
  }, 120_000);

  it("a task model with its own shape trains at that shape, and the suite measures lengths from its T", async () => {
    const tiny = RETRIEVAL_SETTINGS.tiny!;
    const saved = tiny.mqar.training;
    tiny.mqar.training = { init: 'scratch', shape: { layers: 1, seq: 24 }, scheme: 'torch', train: { lr: 3e-3, warmup: 2, batch: 4, steps: 4 } };
    try {
      const out = tempDir();
      expect((await cli(['run', 'needle', '--preset', 'tiny', '--arch', 'transformer', '--out', out, '--cache', tempDir(), '--backend', 'wasm'])).code).toBe(0);
      const recs = readRecords(out);
      const lengths = [...new Set(recs.filter((x) => x.metric === 'mqar_accuracy').map((x) => x.dims.length))].sort((a, b) => Number(a) - Number(b));
      expect(lengths).toEqual(tiny.mqar.lengths.map((m) => m * 24)); // T = 24, not the preset's 32
      const needleLengths = new Set(recs.filter((x) => x.metric === 'needle_accuracy_by_length').map((x) => x.dims.length));
      expect(needleLengths.has(32)).toBe(true); // the needle model keeps the preset's shape
      expect(recs.find((x) => x.metric === 'task_train_seconds' && x.dims.task === 'mqar')!.note).toMatch(/torch scheme.*layers 1 seq 24/);
    } finally {
      tiny.mqar.training = saved;
    }
  }, 120_000);

  it('a task model from the text checkpoint cannot change shape', () => {
    expect(() => taskConfig({ matched: { config: { arch: 'transformer', vocab: 256, d: 32, layers: 2, heads: 2, seq: 32, ffn: 64, mixer: {} } } } as never,
      { init: 'text', shape: { layers: 1 }, train: { batch: 4, steps: 4 } })).toThrow(/keeps its shape/);
  });

  it('needle keys come from the first keySymbols key bytes only', () => {
    const few = needleTask(corpus, { keySymbols: 4 });
    const keys = new Set<number>();
    for (let t = 0; t < 40; t++) {
      const ep = few.episode(new Rng(t), 96, { needles: 4, queried: 2 }, t % 2 ? 'test' : 'train')!;
      ep.tokens.forEach((x, i) => { if (x === MARK) keys.add(ep.tokens[i + 1]!); });
    }
    expect([...keys].sort()).toEqual([128, 129, 130, 131]);
    expect(() => needleTask(corpus, { keySymbols: 0 })).toThrow(/keySymbols/);
    expect(() => needleTask(corpus, { keySymbols: 129 })).toThrow(/keySymbols/);
  });
});
