// The latent suite's parts: deterministic glyph data, the diffusion head on a known distribution, the
// Frechet distance on a closed-form case, forwardHidden on every architecture, the floor flag.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { architectureNames, getArchitecture } from '../architectures/registry.ts';
import { DiffusionHead, alphaBar } from '../suites/latent/diffusion.ts';
import { fidWithInterval, frechetDistance, moments } from '../suites/latent/fid.ts';
import { makeGlyphs, seededRandom } from '../suites/latent/glyphs.ts';
import type { ResultRecord } from '../harness/store.ts';
import { floorFlag, sampleGridFigure } from '../suites/latent/suite.ts';
import { fit, seededIndices } from '../suites/latent/nets.ts';
import type { LatentGenerator } from '../suites/latent/generator.ts';
import { TIMED_ROUNDS, timedGeneration } from '../suites/latent/units.ts';
import { useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('glyph data', () => {
  it('is deterministic per seed and split, differs across seeds and splits, and has ink', () => {
    const a = makeGlyphs(40, 16, 3, 'train'), b = makeGlyphs(40, 16, 3, 'train');
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    const other = makeGlyphs(40, 16, 4, 'train'), test = makeGlyphs(40, 16, 3, 'test');
    expect(Buffer.from(other.pixels.buffer).equals(Buffer.from(a.pixels.buffer))).toBe(false);
    expect(Buffer.from(test.pixels.buffer).equals(Buffer.from(a.pixels.buffer))).toBe(false);
    const ink = a.pixels.reduce((s, v) => s + v, 0) / a.pixels.length;
    expect(ink).toBeGreaterThan(0.05);
    expect(ink).toBeLessThan(0.6);
  });
});

describe('next-token diffusion head', () => {
  it('broadcasts a projected condition over R groups of rows as tiling it would, and guides in one call as in two', () => {
    const head = new DiffusionHead(new Params(3), 'head', { latent: 4, cond: 8, width: 16, blocks: 2 });
    // adaLN-Zero starts with zero gates: perturb every parameter so that the condition reaches the output
    for (const v of head.params().values()) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 11)));
    const n = 5, groups = 3;
    const h = tf.randomNormal([n, 8], 0, 1, 'float32', 12) as tf.Tensor2D;
    const zt = tf.randomNormal([groups * n, 4], 0, 1, 'float32', 13) as tf.Tensor2D;
    const t = tf.randomUniform([groups * n], 0, 1, 'float32', 14) as tf.Tensor1D;
    const hc = head.project(h);
    const broadcast = head.predict(zt, t, hc), tiled = head.predict(zt, t, tf.tile(hc, [groups, 1]) as tf.Tensor2D);
    expect(tf.max(tf.abs(tf.sub(broadcast, tiled))).dataSync()[0]).toBeLessThan(1e-5);
    // a condition paired with the wrong rows would show: group 0 under the conditions in reverse order
    const swapped = head.predict(zt.slice(0, n), t.slice(0, n), tf.reverse(hc, 0) as tf.Tensor2D);
    expect(tf.max(tf.abs(tf.sub(broadcast.slice(0, n), swapped))).dataSync()[0]).toBeGreaterThan(1e-3);
    // classifier-free guidance from one call on 2n rows against the two predictions made apart
    const u = tf.randomNormal([n, 8], 0, 1, 'float32', 15) as tf.Tensor2D, w = 2, steps = 1;
    const z = tf.randomNormal([n, 4], 0, 1, 'float32', 7) as tf.Tensor2D; // sample's first draw (tfSeed(7) = 7)
    const tt = tf.fill([n], 1) as tf.Tensor1D;
    const epsC = head.predict(z, tt, head.project(h)), epsU = head.predict(z, tt, head.project(u));
    const eps = tf.add(epsU, tf.mul(w, tf.sub(epsC, epsU)));
    const ab = alphaBar(1); // alphaBar(0) = 1: alpha = ab, beta = 1 - ab
    const want = tf.div(tf.sub(z, tf.mul((1 - ab) / Math.sqrt(1 - ab), eps)), Math.sqrt(ab)); // one step: sigma 0
    const got = head.sample(h, steps, 7, { uncond: u, w });
    expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-4);
  });

  it('recovers a two-mode 1-D mixture 0.5 N(-2, 0.3^2) + 0.5 N(2, 0.3^2)', async () => {
    const head = new DiffusionHead(new Params(1), 'head', { latent: 1, cond: 1, width: 64, blocks: 2 });
    const vars = head.params();
    const draw = (seed: number, n: number) => {
      const r = seededIndices(2, n, seed);
      return tf.tidy(() => tf.add(tf.tensor2d(r.map((k) => 4 * k - 2), [n, 1]), tf.randomNormal([n, 1], 0, 0.3, 'float32', seed)) as tf.Tensor2D);
    };
    const h = tf.ones([256, 1]) as tf.Tensor2D;
    await fit(vars, 1500, 2e-3, (step) => {
      const z = draw(step + 10, 256);
      return head.loss(z, h, step * 7 + 1, 1);
    });
    const s = head.sample(tf.ones([2000, 1]) as tf.Tensor2D, 50, 99);
    const xs = Array.from(await s.data());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    const positive = xs.filter((x) => x > 0).length / xs.length;
    const nearModes = xs.filter((x) => Math.abs(Math.abs(x) - 2) < 0.9).length / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(std).toBeGreaterThan(1.7); // the mixture's std is 2.02; one Gaussian fitted at the middle would sit near 0
    expect(std).toBeLessThan(2.4);
    expect(positive).toBeGreaterThan(0.4);
    expect(positive).toBeLessThan(0.6);
    expect(nearModes).toBeGreaterThan(0.85); // bimodal: little mass between the modes
  }, 120_000);
});

describe('Frechet distance', () => {
  it('matches the closed form for two Gaussians', () => {
    // N(m1, diag(a)) vs N(m2, diag(b)): ||m1 - m2||^2 + sum (sqrt(a) - sqrt(b))^2
    const a = { mean: [0, 1, 2], cov: [[4, 0, 0], [0, 1, 0], [0, 0, 9]] };
    const b = { mean: [1, 1, 0], cov: [[1, 0, 0], [0, 4, 0], [0, 0, 9]] };
    expect(frechetDistance(a, b)).toBeCloseTo(1 + 4 + (2 - 1) ** 2 + (1 - 2) ** 2 + 0, 6);
    // non-diagonal: rotate both covariances by the same orthogonal R: the distance is unchanged
    const c = Math.cos(0.7), s = Math.sin(0.7);
    const R = [[c, -s, 0], [s, c, 0], [0, 0, 1]];
    const rot = (m: number[][]) => R.map((ri) => R.map((rj) => ri.reduce((acc, x, k) => acc + x * m[k]!.reduce((t, y, l) => t + y * rj[l]!, 0), 0)));
    const rotMean = (m: number[]) => R.map((r) => r.reduce((acc, x, k) => acc + x * m[k]!, 0));
    expect(frechetDistance({ mean: rotMean(a.mean), cov: rot(a.cov) }, { mean: rotMean(b.mean), cov: rot(b.cov) })).toBeCloseTo(7, 6);
    expect(frechetDistance(a, a)).toBeCloseTo(0, 8);
  });

  it('from samples approaches the closed form', () => {
    const gauss = seededRandom(5);
    const normal = () => Math.sqrt(-2 * Math.log(1 - gauss())) * Math.cos(2 * Math.PI * gauss());
    const rows = (m: number, sd: number) => Array.from({ length: 4000 }, () => [m + sd * normal(), sd * normal()]);
    const fd = frechetDistance(moments(rows(0, 1)), moments(rows(1, 2)));
    // closed form: ||m1 - m2||^2 + sum_i (sqrt 1 - sqrt 4)^2 = 1 + 2 = 3
    expect(fd).toBeGreaterThan(2.75);
    expect(fd).toBeLessThan(3.25);
    // the bootstrap interval holds the estimate, sits near the closed form, and is narrower with more samples
    const real = { mean: [0, 0], cov: [[1, 0], [0, 1]] };
    const wide = fidWithInterval(rows(1, 2).slice(0, 200), real, 100, 1), narrow = fidWithInterval(rows(1, 2), real, 100, 1);
    for (const r of [wide, narrow]) {
      expect(r.ci95[0]).toBeLessThanOrEqual(r.fid);
      expect(r.ci95[1]).toBeGreaterThanOrEqual(r.fid);
    }
    expect(narrow.ci95[0]).toBeGreaterThan(2.5);
    expect(narrow.ci95[1]).toBeLessThan(3.5);
    expect(narrow.ci95[1] - narrow.ci95[0]).toBeLessThan(wide.ci95[1] - wide.ci95[0]);
  });
});

describe('floor flag', () => {
  it('flags a result no better than random latents (FID) or class-blind sampling (accuracy), and only then', () => {
    expect(floorFlag(40, 50, 90, 100, 0.1)).toBeUndefined();
    expect(floorFlag(55, 50, 90, 100, 0.1)).toBe('floor'); // FID worse than the random-latent floor
    expect(floorFlag(40, 50, 12, 100, 0.1)).toBe('floor'); // accuracy within class-blind's reach
  });
});

describe('forwardHidden (continuous inputs)', () => {
  it('on every architecture: the head on forwardHidden(embeddings) gives forward(tokens)', async () => {
    for (const name of architectureNames()) {
      const spec = getArchitecture(name)!;
      const cfg = spec.configure({ vocab: 32, d: 16, layers: 2, heads: 2, seq: 16 });
      const lm = spec.build(cfg, new Params(3));
      expect(lm.capabilities.continuousInput, name).toBe(true);
      const tokens = tf.tensor2d([[1, 5, 7, 2, 9, 3]], [1, 6], 'int32');
      const x = tf.gather(lm.params.get('embed'), tokens.flatten()).reshape([1, 6, cfg.d]) as tf.Tensor3D;
      const viaHidden = tf.matMul(lm.forwardHidden!(x).reshape([6, cfg.d]), lm.params.get('head'));
      const direct = lm.forward(tokens).reshape([6, cfg.vocab]);
      const diff = (await tf.max(tf.abs(tf.sub(viaHidden, direct))).data())[0]!;
      expect(diff, name).toBeLessThan(1e-5);
      lm.params.dispose();
    }
  });
});

describe('sample grid figure', () => {
  it('draws the records\' hex pixels as one PNG row per (architecture, method), glyphs side by side', async () => {
    const rec = (arch: string, note: string) => ({ suite: 'latent', arch, seed: 0, metric: 'sample_grid', value: 2, unit: 'glyphs', dims: { method: 'vq', tokenizer: 'vq', size: 2 }, note }) as unknown as ResultRecord;
    // two 2x2 glyphs: [[0, f], [0, f]] and [[f, 0], [0, 0]]
    const fig = sampleGridFigure([rec('transformer', '0f0f' + 'f000')])!;
    const values = (fig.vegaLite.data as { values: { arch: string; row: string; url: string }[] }).values;
    expect(values.map((v) => [v.arch, v.row])).toEqual([['transformer', 'vq / vq']]);
    const png = Buffer.from(values[0]!.url.replace(/^data:image\/png;base64,/, ''), 'base64');
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4, 2]);
    expect(Array.from(data)).toEqual([0, 255, 255, 0, 0, 255, 0, 0]); // row 0: glyph 1 | glyph 2, row 1 likewise
    expect(sampleGridFigure([])).toBeNull();
  });
});

describe('generation time', () => {
  it('is the mean of the timed rounds after an untimed warm-up, with a t interval around it', async () => {
    const delays = new Map<number, number[]>([[10, [120, 8, 12, 9, 11]], [50, [150, 40, 44, 38, 42]]]); // per call, warm-up first
    const calls: number[] = [];
    const gen = {
      generate: async (_labels: number[], steps: number) => {
        calls.push(steps);
        const wait = delays.get(steps)!.shift()!;
        const until = performance.now() + wait;
        while (performance.now() < until); // a known cost per call
        return tf.zeros([1]);
      },
    } as unknown as LatentGenerator;
    const times = await timedGeneration(gen, [0, 1], [10, 50], 2, 0);
    expect(calls).toEqual(Array.from({ length: TIMED_ROUNDS + 1 }, () => [10, 50]).flat()); // alternated, warm-up included
    const t10 = times.get(10)!, t50 = times.get(50)!;
    // 2 samples a batch: the timed rounds' 8-12 ms (not the 120 ms warm-up) are 4-6 ms a sample
    expect(t10.ms).toBeGreaterThan(4);
    expect(t10.ms).toBeLessThan(12); // the warm-up counted would make it 16
    expect(t50.ms).toBeGreaterThan(19);
    expect(t50.ms).toBeLessThan(28); // and this 31
    for (const t of [t10, t50]) {
      expect(t.ci95[0]).toBeLessThan(t.ms);
      expect(t.ci95[1]).toBeGreaterThan(t.ms);
      expect(t.note).toContain(`mean of ${TIMED_ROUNDS} timed rounds`);
    }
  });
});
