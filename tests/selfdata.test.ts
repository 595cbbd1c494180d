// The self-generated-data suites: forgetting (tree generation, replay) and selfimprove (Crescent).
// Tree generation is deterministic per seed, de-duplication removes exact and near duplicates, the vote and
// the checker are exact, an untrained model is flagged floor, a killed run resumes without duplicated
// records, and both suites run end to end at tiny for two architectures.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { Rng } from '../harness/data/rng.ts';
import { dedupe, drawToken } from '../harness/generate.ts';
import { buildModel, matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { readRecords, unitKey, type ResultRecord } from '../harness/store.ts';
import type { FigureKit } from '../suites/interface.ts';
import { forgetting, forgettingFloor } from '../suites/forgetting/suite.ts';
import { FORGETTING_SETTINGS } from '../suites/forgetting/settings.ts';
import { instruction } from '../suites/forgetting/instructions.ts';
import { linePrompts, treeReplay, uniformReplay } from '../suites/forgetting/tree.ts';
import { check, parseAnswer, parseQuestion, probeProblems, sideOf, solve, testProblems } from '../suites/selfimprove/addition.ts';
import { majority } from '../suites/selfimprove/crescent.ts';
import { SELFIMPROVE_SETTINGS } from '../suites/selfimprove/settings.ts';
import { dedupeQuestions, dedupeVectors } from '../suites/selfimprove/similarity.ts';
import { encode } from '../harness/data/corpus.ts';
import { selfimprove, testAccuracy } from '../suites/selfimprove/suite.ts';
import { cli, killAfterFirstUnit, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

const tiny = PRESETS.tiny!;
const untrained = (arch: string, seed = 0) => {
  const spec = getArchitecture(arch)!;
  return buildModel(spec, matchedConfig(spec, tiny, 'params').config, seed);
};
const corpus = loadCorpus('default');
const tree = FORGETTING_SETTINGS.tiny!.tree;

describe('tree generation', () => {
  it('is deterministic per seed, branches N_i ways at each level and matches the uniform ablation in size', async () => {
    for (const arch of ['transformer', 'retnet']) {
      const model = untrained(arch);
      const prompts = linePrompts(corpus.splits.train, tree, 0);
      expect(prompts.map((p) => p.length)).toEqual(Array(tree.prompts).fill(tree.promptBytes));
      const a = await treeReplay(model, prompts, tree, 0);
      const b = await treeReplay(model, prompts, tree, 0);
      const c = await treeReplay(model, prompts, tree, 1);
      expect(Array.from(a.bytes)).toEqual(Array.from(b.bytes));
      expect(Array.from(a.bytes)).not.toEqual(Array.from(c.bytes));
      expect(a.generated).toBe(tree.prompts * tree.branching.reduce((x, y) => x * y, 1));
      // tokens sampled: level i decodes prompts x N_1 ... N_i rows of `segment` tokens
      let rows = tree.prompts, tokens = 0;
      for (const n of tree.branching) tokens += (rows *= n) * tree.segment;
      expect(a.tokens).toBe(tokens);
      const u = await uniformReplay(model, prompts, tree, a.kept, 0);
      expect(u.generated).toBe(a.kept);
      expect(u.bytes.length).toBe(a.bytes.length); // as many sequences of the same length
      model.params.dispose();
    }
  });

  it('draws greedily at temperature 0 and by the softmax otherwise', () => {
    const rng = new Rng(1);
    expect(drawToken([0.1, 3, -2], 0, rng)).toBe(1);
    const counts = [0, 0];
    for (let i = 0; i < 2000; i++) counts[drawToken([0, Math.log(3)], 1, rng)]!++;
    expect(counts[1]! / 2000).toBeGreaterThan(0.7); // p = 0.75
    expect(counts[1]! / 2000).toBeLessThan(0.8);
  });
});

describe('de-duplication', () => {
  it('removes exact and near duplicates and keeps distinct texts, in order', () => {
    const texts = ['the whale swam on', 'the whale swam on', 'the whale swam on!', 'a speech to congress', 'the whale swam one', 'numbers 0123456789'];
    expect(dedupe(texts, { n: 3, threshold: 0.7 })).toEqual([0, 3, 5]);
    expect(dedupe(texts, { n: 3, threshold: 1 })).toEqual([0, 2, 3, 4, 5]); // exact duplicates only
    expect(dedupe(['12+34', '12+35', '13+34', '12+34'], { n: 2, threshold: 0.6 })).toEqual([0, 2]);
  });

  it('on vectors, rejects a candidate whose cosine to a kept one reaches the threshold', () => {
    const v = (...x: number[]) => Float32Array.from(x);
    const vectors = [v(1, 0, 0), v(2, 0, 0), v(1, 0.1, 0), v(0, 1, 0), v(0, 0, 0), v(-1, 0, 0), v(0.7, 0.7, 0)];
    expect(dedupeVectors(vectors, 0.99)).toEqual([0, 3, 4, 5, 6]); // a scaled copy and a near copy go; a zero vector has cosine 0
    expect(dedupeVectors(vectors, 0.5)).toEqual([0, 3, 4, 5]); // (0.7, 0.7) is at cosine 0.71 of both axes
  });

  it('Crescent uses the hidden states where the model offers them (exact duplicates go), n-grams otherwise', async () => {
    const lm = untrained('transformer');
    const texts = ['12+34', '12+34', '56+78', '90+11'];
    const rows = texts.map((t) => Int32Array.from(encode(`\nQ:${t}=`)));
    const settings = { ngram: 2, threshold: 0.6, hiddenThreshold: 0.999 };
    const hidden = await dedupeQuestions(lm, texts, rows, settings, 3);
    expect(hidden.used).toEqual({ method: 'hidden', dims: lm.config.d, threshold: 0.999 });
    expect(hidden.kept).toEqual([0, 2, 3]);
    const blind = Object.assign(Object.create(lm), { capabilities: { ...lm.capabilities, continuousInput: false } });
    const fallback = await dedupeQuestions(blind, ['12+34', '12+35', '13+34', '12+34'], rows, settings, 3);
    expect(fallback).toEqual({ kept: [0, 2], used: { method: 'ngram', n: 2, threshold: 0.6 } });
    lm.params.dispose();
  });
});

describe('vote and checker', () => {
  it('the majority vote takes the plurality of valid answers, ties to the first seen', () => {
    expect(majority(['092', '092', '091', null])).toEqual({ answer: '092', count: 2 });
    expect(majority(['091', '092', '092', '091'])).toEqual({ answer: '091', count: 2 });
    expect(majority([null, '100', null])).toEqual({ answer: '100', count: 1 });
    expect(majority([null, null])).toBeNull();
  });

  it('the checker, the format and the parsers are exact', () => {
    expect(solve({ a: 7, b: 85 }, 2)).toBe('092');
    expect(solve({ a: 99, b: 99 }, 2)).toBe('198');
    expect(check({ a: 7, b: 85 }, '092', 2)).toBe(true);
    expect(check({ a: 7, b: 85 }, '92', 2)).toBe(false);
    expect(check({ a: 7, b: 85 }, '093', 2)).toBe(false);
    expect(parseQuestion('07+85=0', 2)).toEqual({ a: 7, b: 85 });
    expect(parseQuestion('7+85=', 2)).toBeNull();
    expect(parseQuestion('07-85=', 2)).toBeNull();
    expect(parseAnswer('092\nQ', 2)).toBe('092');
    expect(parseAnswer('0921', 2)).toBeNull();
    const test = testProblems(64, 2);
    expect(test).toHaveLength(64);
    expect(new Set(test.map((p) => `${p.a}+${p.b}`)).size).toBe(64);
    for (const p of test) expect(sideOf(p)).toBe('test');
    expect(testProblems(64, 2)).toEqual(test);
    // the budget's probe: test-side, distinct, and disjoint from the test set it is drawn beside
    const probe = probeProblems(128, 2, 256);
    expect(new Set(probe.map((p) => `${p.a}+${p.b}`)).size).toBe(128);
    const heldOut = new Set(testProblems(256, 2).map((p) => `${p.a}+${p.b}`));
    for (const p of probe) {
      expect(sideOf(p)).toBe('test');
      expect(heldOut.has(`${p.a}+${p.b}`)).toBe(false);
    }
  });

  it('domain B records answer their instruction', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const m = /^Instruction: (\w+) .*"([a-z]+)".*\nResponse: (.*)\n\n$/.exec(instruction(rng))!;
      expect(m).not.toBeNull();
      const [, verb, w, answer] = m;
      const want = { reverse: [...w!].reverse().join(''), sort: [...w!].sort().join(''), write: w!.toUpperCase(), count: String(w!.length), repeat: `${w} ${w}` }[verb!];
      expect(answer).toBe(want);
    }
  });
});

describe('floor flags', () => {
  it('an untrained model is flagged floor on held-out accuracy, and has nothing to forget', async () => {
    const model = untrained('transformer');
    const s = { ...SELFIMPROVE_SETTINGS.tiny!, digits: 2, testSize: 32 };
    const r = await testAccuracy(model, s, 'before');
    expect(r.flag).toBe('floor');
    expect(r.value).toBeLessThan(0.1);
    model.params.dispose();
    expect(forgettingFloor(8.1, 4.4)).toBe('floor');
    expect(forgettingFloor(2.5, 4.4)).toBeUndefined();
  });
});

const kit = {} as FigureKit; // the suites' figures build their own specs
const byMetric = (recs: ResultRecord[], metric: string) => recs.filter((r) => r.metric === metric);

describe('end to end at tiny', () => {
  it('forgetting: a run killed mid-suite resumes without duplicated records; every method is measured for two architectures', async () => {
    const out = join(tempDir(), 'run');
    const args = ['run', 'forgetting', '--arch', 'transformer,retnet', '--preset', 'tiny', '--out', out, '--cache', tempDir(), '--backend', 'wasm'];
    await killAfterFirstUnit(args, out);
    expect(new Set(readRecords(out).map(unitKey)).size).toBe(1);
    expect((await cli(args)).code).toBe(0);
    const recs = readRecords(out);
    const keys = recs.map((r) => `${unitKey(r)}|${r.metric}|${JSON.stringify(r.dims)}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const arch of ['transformer', 'retnet']) {
      const mine = recs.filter((r) => r.arch === arch);
      expect(byMetric(mine, 'forgetting_bpb').map((r) => r.dims.method)).toEqual(['plain', 'real', 'tree', 'uniform']);
      expect(byMetric(mine, 'a_bpb').map((r) => r.dims.method)).toEqual(['before', 'plain', 'real', 'tree', 'uniform']);
      for (const r of [...byMetric(mine, 'a_bpb'), ...byMetric(mine, 'b_bpb'), ...byMetric(mine, 'generation_tokens_per_s')]) expect(r.value).toBeGreaterThan(0);
      // B is learned under every method; the tiny text model is at the unigram floor
      const b = Object.fromEntries(byMetric(mine, 'b_bpb').map((r) => [r.dims.method, r.value]));
      for (const m of ['plain', 'real', 'tree', 'uniform']) expect(b[m]).toBeLessThan(b.before!);
      for (const r of byMetric(mine, 'forgetting_bpb')) expect(r.flag).toBe('floor');
      expect(byMetric(mine, 'replay_gain').map((r) => r.note!.split(':')[0])).toHaveLength(4);
      for (const r of byMetric(mine, 'recovery')) expect(r.unit).toBe('ratio'); // it passes 1 where self-replay beats real replay
      expect(byMetric(mine, 'calibration_forgetting')).toHaveLength(1);
    }
    const figs = forgetting.figures!(recs, kit);
    expect(figs.map((f) => f.name)).toEqual(['matrix-forgetting_bpb', 'matrix-b_bpb']);
    expect((figs[0]!.vegaLite.data as { values: unknown[] }).values).toHaveLength(8);
  });

  it('selfimprove: counts, vote accuracy and every row for two architectures', async () => {
    const out = join(tempDir(), 'run');
    expect((await cli(['run', 'selfimprove', '--arch', 'transformer,retnet', '--preset', 'tiny', '--out', out, '--cache', tempDir(), '--backend', 'wasm'])).code).toBe(0);
    const recs = readRecords(out);
    for (const arch of ['transformer', 'retnet']) {
      const mine = recs.filter((r) => r.arch === arch);
      const counts = Object.fromEntries(byMetric(mine, 'questions').map((r) => [r.dims.stage, r.value]));
      expect(counts.generated).toBe(SELFIMPROVE_SETTINGS.tiny!.crescent.questions);
      expect(counts.valid).toBeLessThanOrEqual(counts.generated!);
      expect(counts.kept).toBeLessThanOrEqual(counts.valid! - counts.test_excluded!);
      expect(counts.voted).toBeLessThanOrEqual(counts.kept!);
      expect(counts.voted).toBeGreaterThan(0);
      expect(byMetric(mine, 'accuracy').map((r) => r.dims.stage)).toEqual(['before', 'after', 'control', 'distill']);
      for (const r of byMetric(mine, 'accuracy')) expect(r.ci95![0]).toBeLessThanOrEqual(r.value + 1e-12);
      expect(byMetric(mine, 'vote_accuracy')[0]!.note).toMatch(new RegExp(`^\\d+/${counts.voted} `));
      expect(byMetric(mine, 'generation_tokens_per_s').map((r) => r.dims.phase)).toEqual(['questions', 'answers']);
      expect(byMetric(mine, 'questions').find((r) => r.dims.stage === 'kept')!.dims.similarity).toBe('hidden');
      // the suite's own models per stage, and the runner's record of the text checkpoint (counted once)
      expect(byMetric(mine, 'train_seconds').map((r) => r.dims.stage ?? r.dims.model)).toEqual(['after', 'control', 'distill', 'text']);
    }
    const [fig] = selfimprove.figures!(recs, kit);
    expect((fig!.vegaLite.data as { values: unknown[] }).values).toHaveLength(8);
  });
});
