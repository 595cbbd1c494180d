// Length extrapolation: the same bytes at every length, position buckets, the sliding-window twin,
// attention resolution, and the suite end to end on tiny.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import type { LanguageModel } from '../architectures/interface.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { buildModel, matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { readRecords } from '../harness/store.ts';
import { evaluateBpb } from '../harness/evaluate.ts';
import { attentionResolution, bucketEdges, positionNll, regionStarts, resolutionRecords } from '../suites/extrapolation/suite.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

describe('extrapolation pieces', () => {
  it('buckets at T/4, T/2, T, 2T, 4T ... and regions spread over the split', () => {
    expect(bucketEdges(128, 128)).toEqual([0, 32, 64, 128]);
    expect(bucketEdges(128, 1024)).toEqual([0, 32, 64, 128, 256, 512, 1024]);
    expect(bucketEdges(128, 2048)).toEqual([0, 32, 64, 128, 256, 512, 1024, 2048]);
    expect(regionStarts(1000, 100, 3)).toEqual([0, 450, 900]);
    expect(regionStarts(100, 100, 3)).toEqual([0]);
    expect(regionStarts(50, 100, 3)).toEqual([]);
  });

  it('attention resolution: 1/L^2 for flat scores, near 1 for a sharp local peak', () => {
    const L = 8;
    expect(attentionResolution(new Float32Array(L * L), 1, L)[0]).toBeCloseTo(1 / (L * L), 10);
    const sharp = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = 0; j <= i; j++) sharp[i * L + j] = i === j ? 20 : 0;
    expect(attentionResolution(sharp, 1, L)[0]).toBeGreaterThan(0.99);
    // per head: two heads, the second flat
    const two = new Float32Array(2 * L * L);
    two.set(sharp, 0);
    const r = attentionResolution(two, 2, L);
    expect(r[0]).toBeGreaterThan(0.99);
    expect(r[1]).toBeCloseTo(1 / (L * L), 10);
  });

  it('attention resolution leaves hidden keys (-Infinity) out: a flat window of 2 keys gives 1/4, not 1/L^2', () => {
    const L = 4;
    const s = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = 0; j <= i; j++) s[i * L + j] = i - j < 2 ? 0 : -Infinity;
    // e = [1, 1, 0, 0]: (1 (1 - 1) + 1 (1 - 0)) / 2^2
    expect(attentionResolution(s, 1, L)[0]).toBeCloseTo(0.25, 12);
  });

  it('position NLL over windows of T agrees with the harness evaluateBpb', async () => {
    const spec = getArchitecture('transformer')!;
    const { config } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const model = buildModel(spec, config, 3);
    const bytes = loadCorpus('default').splits.test;
    const T = config.seq;
    const starts = [0, 1000];
    const span = 4 * T;
    const { sums, windows } = await positionNll((t) => model.forward(t), bytes, starts, span, T, 64);
    expect(windows).toBe(8);
    const ours = sums.reduce((a, b) => a + b, 0) / (windows * T) / Math.LN2;
    const wins: Int32Array[] = [];
    for (const s of starts) for (let o = 0; o < span; o += T) wins.push(Int32Array.from(bytes.subarray(s + o, s + o + T + 1)));
    expect(ours).toBeCloseTo(await evaluateBpb(model, wins, 4), 4);
    model.params.dispose();
  });

  it('the transformer exposes attention scores that match its causal softmax shape', () => {
    const spec = getArchitecture('transformer')!;
    const { config } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const model: LanguageModel = buildModel(spec, config, 1);
    expect(model.attentionScores).toBeDefined();
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const s = model.attentionScores!(ids, 1);
    expect(s.shape).toEqual([1, config.heads, 6, 6]);
    expect(Number.isFinite(s.sum().dataSync()[0]!)).toBe(true);
    s.dispose();
    ids.dispose();
    model.params.dispose();
  });
});

describe('attention resolution availability', () => {
  it('records not_available without attentionScores and not_applicable without attention maps', async () => {
    const spec = getArchitecture('transformer')!;
    const { config } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const model = buildModel(spec, config, 2);
    const ctx = { corpus: loadCorpus('default'), meter: { sample() {} } } as unknown as Parameters<typeof resolutionRecords>[0];
    const s = { multiples: [1], regions: 1, batchTokens: 64, maxScoreBytes: 1 << 20, resolutionWindows: 1 };
    const without: LanguageModel = { ...model, capabilities: model.capabilities, attentionScores: undefined, forward: model.forward.bind(model) } as LanguageModel;
    expect((await resolutionRecords(ctx, without, [config.seq], [0], s))[0]!.flag).toBe('not_available');
    const noMaps = { ...without, capabilities: {} } as LanguageModel;
    expect((await resolutionRecords(ctx, noMaps, [config.seq], [0], s))[0]!.flag).toBe('not_applicable');
    const ok = await resolutionRecords(ctx, model, [config.seq], [0], s);
    expect(ok.filter((r) => r.dims!.layer === 'mean')[0]!.value).toBeGreaterThan(0);
    expect(ok.filter((r) => typeof r.dims!.layer === 'number').length).toBe(config.layers);
    model.params.dispose();
  });
});

describe('the extrapolation suite', () => {
  it('runs on tiny: every length, a sliding-window row equal to native at T, buckets and resolution', async () => {
    const out = tempDir();
    const r = await cli(['run', 'extrapolation', '--preset', 'tiny', '--arch', 'transformer', '--out', out, '--cache', tempDir(), '--backend', 'wasm']);
    expect(r.code).toBe(0);
    const recs = readRecords(out);
    const T = PRESETS.tiny!.size.seq;
    const bpb = (variant: string, length: number) => recs.find((x) => x.metric === 'test_bpb' && x.dims.variant === variant && x.dims.length === length);
    for (const m of [1, 2, 4]) {
      expect(Number.isFinite(bpb('native', m * T)!.value)).toBe(true);
      expect(Number.isFinite(bpb('sliding_window', m * T)!.value)).toBe(true);
      expect(recs.find((x) => x.metric === 'attention_resolution' && x.dims.length === m * T && x.dims.layer === 'mean')!.value).toBeGreaterThan(0);
    }
    // within T the window changes nothing: the twin carries the trained weights
    expect(bpb('sliding_window', T)!.value).toBeCloseTo(bpb('native', T)!.value, 5);
    expect(bpb('native', T)!.note).toMatch(/forward/);
    const buckets = recs.filter((x) => x.metric === 'bpb_by_position' && x.dims.variant === 'native' && x.dims.length === 4 * T);
    expect(buckets.map((b) => [b.dims.from, b.dims.to])).toEqual([[0, 8], [8, 16], [16, 32], [32, 64], [64, 128]]);
    expect(recs.find((x) => x.metric === 'bpb_ratio_to_T' && x.dims.length === T && x.dims.variant === 'native')!.value).toBe(1);
  }, 120_000);
});
