// The perplexity suite's activation measurements: outlier statistics (top-k, kurtosis) on hand-made
// values, per-tensor quantization, the activation probes against each model's forward, and the suite
// end to end on tiny.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture, mainArchitectureNames } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { readRecords } from '../harness/store.ts';
import { causalEntries, outlierStats, quantize } from '../suites/perplexity/outliers.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

describe('outlier statistics', () => {
  it('top1 and top10 are the largest and the 10th largest magnitude, whatever the sign and order', () => {
    const xs = Array.from({ length: 20 }, (_, i) => (i % 2 ? -1 : 1) * ((i * 7) % 20 + 1)); // +-1..+-20, shuffled
    const s = outlierStats(xs);
    expect(s.top1).toBe(20);
    expect(s.top10).toBe(11);
    expect(outlierStats([3, -5]).top10).toBe(3); // fewer than 10 values: the smallest magnitude
  });

  it('kurtosis is E[(x-mu)^4] / E[(x-mu)^2]^2, exactly', () => {
    expect(outlierStats([-1, 1, -1, 1]).kurtosis).toBe(1);
    // nine zeros and a 10: mu 1, m2 = (9 + 81)/10 = 9, m4 = (9 + 6561)/10 = 657
    expect(outlierStats([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]).kurtosis).toBeCloseTo(657 / 81, 12);
    expect(Number.isNaN(outlierStats([2, 2, 2]).kurtosis)).toBe(true);
  });

  it('causal entries of [B*H, T, T] logits keep key <= query only', () => {
    // two maps of 2x2: [[a, x], [b, c]] with x above the diagonal
    expect(Array.from(causalEntries([1, 99, 2, 3, 4, 99, 5, 6], 2, 2))).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('activation quantization (per tensor, symmetric, round to nearest)', () => {
  it('keeps values on the grid, moves others by at most half a step, and keeps zero', () => {
    const x = tf.tensor1d([-1, -0.5, 0.26, 1]);
    // 4 bits: scale 1/7 (max |x| = 1 over 2^3 - 1 steps)
    const q4 = Array.from(quantize(x, 4).dataSync());
    expect(q4[0]).toBeCloseTo(-1, 6);
    expect(q4[2]).toBeCloseTo(2 / 7, 6);
    expect(q4[3]).toBeCloseTo(1, 6);
    for (const [i, v] of q4.entries()) expect(Math.abs(v - [-1, -0.5, 0.26, 1][i]!)).toBeLessThanOrEqual(0.5 / 7 + 1e-6);
    // a tensor already on the 8-bit grid comes back unchanged
    const grid = tf.tensor1d([-127, -3, 0, 64, 127].map((k) => (k * 2.5) / 127));
    expect(Array.from(quantize(grid, 8).dataSync())).toEqual(Array.from(grid.dataSync()).map((v) => expect.closeTo(v, 6) as unknown as number));
    expect(Array.from(quantize(tf.zeros([3]), 4).dataSync())).toEqual([0, 0, 0]);
    // fewer bits, larger error on random values
    const r = tf.randomNormal([1000], 0, 1, 'float32', 3);
    const err = (bits: number) => tf.tidy(() => tf.max(tf.abs(tf.sub(quantize(r, bits), r))).dataSync()[0]!);
    expect(err(8)).toBeLessThan(err(6));
    expect(err(6)).toBeLessThan(err(4));
  });
});

describe('activation probes', () => {
  it.each(mainArchitectureNames())('%s: forward with an identity transform equals forward; logits only for softmax mixers', (arch) => {
    const spec = getArchitecture(arch)!;
    const { config } = matchedConfig(spec, PRESETS.tiny!, 'params');
    const model = spec.build(config, new Params(4));
    expect(model.capabilities.activations).toBe(true);
    const tokens = tf.tensor2d(Array.from({ length: 2 * 16 }, (_, i) => (i * 31 + 7) % 256), [2, 16], 'int32');
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.activations!.forward(tokens, (h) => h), model.forward(tokens)))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    const layers = model.activations!.layers(tokens);
    expect(layers.length).toBe(config.layers);
    for (const a of layers) {
      expect(a.hidden.shape).toEqual([2, 16, config.d]);
      expect(a.mixer.shape).toEqual([2, 16, config.d]);
    }
    const withLogits = layers.map((a) => a.logits !== null);
    const expected = { transformer: [true, true], diff: [true, true], lex: [true, true], momentum: [true, true], retnet: [false, false], yoco: [false, false] }[arch];
    expect(withLogits).toEqual(expected);
    if (model.attentionScores) {
      const same = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.linalg.bandPart(layers[1]!.logits!, -1, 0), tf.linalg.bandPart(model.attentionScores!(tokens, 1), -1, 0)))).dataSync()[0]!);
      expect(same).toBeLessThan(1e-4);
    }
    tf.dispose(layers.flatMap((a) => [a.hidden, a.mixer, ...(a.logits ? [a.logits] : [])]));
    model.params.dispose();
  });

  it('a transform on the hidden states changes the output (quantization reaches the logits)', () => {
    const spec = getArchitecture('transformer')!;
    const model = spec.build(spec.configure(PRESETS.tiny!.size), new Params(1));
    const tokens = tf.tensor2d(Array.from({ length: 16 }, (_, i) => i * 5), [1, 16], 'int32');
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(model.activations!.forward(tokens, (h) => quantize(h, 2) as tf.Tensor3D), model.forward(tokens)))).dataSync()[0]!);
    expect(d).toBeGreaterThan(1e-3);
    model.params.dispose();
  });
});

describe('the perplexity suite', () => {
  it('runs on tiny: bpb, outliers per layer and their maximum, logits only where there are softmax maps, quantized bpb', async () => {
    const out = tempDir();
    const r = await cli(['run', 'perplexity', '--preset', 'tiny', '--arch', 'transformer,retnet', '--out', out, '--cache', tempDir(), '--backend', 'wasm']);
    expect(r.code).toBe(0);
    const recs = readRecords(out);
    const L = PRESETS.tiny!.size.layers;
    for (const arch of ['transformer', 'retnet']) {
      const mine = recs.filter((x) => x.arch === arch);
      const top1 = (layer: number | string, of: string) => mine.find((x) => x.metric === 'activation_top1' && x.dims.layer === layer && x.dims.of === of);
      for (let l = 0; l < L; l++) for (const of of ['hidden', 'mixer']) expect(top1(l, of)!.value).toBeGreaterThan(0);
      expect(top1('max', 'hidden')!.value).toBe(Math.max(...Array.from({ length: L }, (_, l) => top1(l, 'hidden')!.value)));
      const kurt = (layer: number | string) => mine.find((x) => x.metric === 'activation_kurtosis' && x.dims.layer === layer && x.dims.of === 'hidden')!.value;
      expect(kurt('max')).toBe(Math.max(...Array.from({ length: L }, (_, l) => kurt(l))));
      const q = (bits: number) => mine.find((x) => x.metric === 'quantized_bpb' && x.dims.bits === bits)!.value;
      for (const bits of [32, 8, 6, 4]) expect(Number.isFinite(q(bits))).toBe(true);
      expect(Math.abs(q(8) - q(32))).toBeLessThan(0.05); // 8 bits barely moves bpb
      expect(q(4)).toBeGreaterThan(q(32));
    }
    expect(recs.find((x) => x.arch === 'transformer' && x.metric === 'activation_top1' && x.dims.layer === 'max' && x.dims.of === 'logits')!.value).toBeGreaterThan(0);
    const none = recs.find((x) => x.arch === 'retnet' && x.metric === 'activation_top1' && x.dims.of === 'logits')!;
    expect(none.flag).toBe('not_applicable');
    expect(none.note).toMatch(/hidden states and mixer outputs/);
  }, 180_000);
});
