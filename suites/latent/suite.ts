// Latent generation (LatentLM, Sun et al. 2024) at our scale, on glyph images made here: tokenizers
// (sigma-VAE, plain VAE, VQ-VAE) turn a 16x16 glyph into 16 patch latents; every registered architecture,
// unchanged, is the causal backbone through LanguageModel.forwardHidden; next-token diffusion (a DDPM head
// with classifier-free guidance) against VQ code prediction. Metrics: FID and class accuracy in the
// feature space of a glyph classifier trained here (NOT Inception FID), each tokenizer's reconstruction
// error and latent variance (VAE collapse), generation time per sample against diffusion steps and VQ.
// Floors: the sigma-VAE decoder on random latents z ~ N(0, I) (FID) and a class-blind sampler (the null
// class: class accuracy); a method not better than both is flagged 'floor'. The speech half (espeak-ng
// words as log-mels; MCD after DTW, phoneme error rate, speaker similarity) is in speech/.
import * as tf from '@tensorflow/tfjs';
import type { ModelCache } from '../../harness/cache.ts';
import { REFERENCE_ARCH, buildModel, disposeModel } from '../../harness/models.ts';
import { wilson } from '../../harness/stats.ts';
import type { ResultRecord } from '../../harness/store.ts';
import type { FigureSpec, Measurement, Suite, SuiteContext } from '../interface.ts';
import { registerSuite } from '../registry.ts';
import { readCalibration, withCalibration } from '../tasks/calibration-history.ts';
import { MlpClassifier, fidWithInterval, moments } from './fid.ts';
import { timedGeneration, trainGenerator, trainTokenizers } from './units.ts';
import { cachedParts } from './shared-cache.ts';
import { LatentGenerator, type Method } from './generator.ts';
import { stripPng, stripsSpec } from './png.ts';
import { speechFigure } from './speech/figure.ts';
import { speechUnit } from './speech/half.ts';
import { GLYPH_CLASSES, makeGlyphs, type GlyphSet } from './glyphs.ts';
import { tfSeed } from './nets.ts';
import { LATENT_SETTINGS, type LatentSettings } from './settings.ts';
import { imageLayout, tokenizerParts, tokenizers, type Tokenizer, type TokenizerKind } from './tokenizers.ts';

type Stats = { mean: number[]; cov: number[][] };

/** What every architecture of a (preset, seed) shares: data, tokenizers, classifier, the real features. */
interface Shared {
  train: GlyphSet;
  test: GlyphSet;
  tokenizers: Map<TokenizerKind, Tokenizer>;
  classifier: MlpClassifier;
  real: Stats;
  records: Measurement[];
}

const SHARED = new Map<string, Promise<Shared>>();

/**
 * The variants measured: next-token diffusion on each continuous tokenizer, and VQ. Diffusion on the plain
 * VAE's latents is the baseline of the sigma-VAE claim, which compares tokenizers, not backbones: it runs
 * on the reference backbone only (a sixth of its generator training), the others on every one.
 */
const VARIANTS: { method: Method; tokenizer: TokenizerKind; referenceOnly?: boolean }[] = [
  { method: 'diffusion', tokenizer: 'sigma-vae' },
  { method: 'diffusion', tokenizer: 'vae', referenceOnly: true },
  { method: 'vq', tokenizer: 'vq' },
];

/** A result is at the floor when its FID is no better than random latents' or its accuracy no better than class-blind's. */
export function floorFlag(fid: number, floorFid: number, k: number, n: number, blindAccuracy: number): string | undefined {
  const [lo] = wilson(k, n);
  return fid >= floorFid || lo <= blindAccuracy ? 'floor' : undefined;
}

/** Bootstrap resamples behind each FID interval. */
const FID_RESAMPLES = 100;

async function imageScores(classifier: MlpClassifier, images: tf.Tensor2D, labels: number[], real: Stats, seed: number) {
  const { features, predicted } = await classifier.read(images);
  const k = predicted.filter((p, i) => p === labels[i]).length;
  return { ...fidWithInterval(features, real, FID_RESAMPLES, seed), k, n: labels.length };
}

/** The glyph data (made again, deterministically) and the trained parts (from the model cache when there). */
async function buildShared(cache: ModelCache, s: LatentSettings, seed: number): Promise<Shared> {
  const train = makeGlyphs(s.trainImages, s.size, seed, 'train');
  const test = makeGlyphs(s.testImages, s.size, seed, 'test');
  const toks = tokenizers(s.tokenizer, imageLayout(s.size, s.tokenizer.patch), seed);
  const c = s.classifier;
  const classifier = new MlpClassifier(s.size * s.size, c.hidden, c.features, GLYPH_CLASSES.length, seed);
  const settings = { size: s.size, trainImages: s.trainImages, testImages: s.testImages, tokenizer: s.tokenizer, classifier: c };
  const { info } = await cachedParts(cache, 'images', settings, seed, { ...tokenizerParts(toks), classifier: classifier.params }, async () => {
    const x = tf.tensor2d(test.pixels, [test.n, s.size * s.size]);
    const records = await trainTokenizers(toks, train.pixels, train.n, x, seed, 'patches');
    await classifier.train(train.pixels, train.labels, c.steps, c.batch, c.lr, seed);
    const { features, predicted } = await classifier.read(x);
    x.dispose();
    const k = predicted.filter((p, i) => p === test.labels[i]).length;
    records.push({ metric: 'classifier_accuracy', value: k / test.n, unit: 'fraction', ci95: wilson(k, test.n), dims: { split: 'test', features: c.features }, note: 'the glyph classifier whose features FID reads (not Inception)' });
    return { records, real: moments(features) };
  });
  return { train, test, tokenizers: toks, classifier, real: info.real, records: info.records };
}

function shared(ctx: SuiteContext, s: LatentSettings): Promise<Shared> {
  const key = `${ctx.preset.name}:${ctx.seed}`;
  if (!SHARED.has(key)) SHARED.set(key, buildShared(ctx.cache, s, ctx.seed));
  return SHARED.get(key)!;
}

/** Glyphs [n, S*S] in [0, 1] as one hex digit (16 grey levels) per pixel: the record the sample grid figure reads. */
async function encodeGrid(images: tf.Tensor2D): Promise<string> {
  const px = await images.data();
  images.dispose();
  return Array.from(px, (v) => Math.min(15, Math.max(0, Math.round(v * 15))).toString(16)).join('');
}

/** A row of glyphs from a sample_grid record's hex pixels, as a PNG data URI (one image, not a rect per pixel). */
export function gridPng(hex: string, size: number): string {
  return stripPng(hex.length / (size * size), size, size, (c, x, y) => parseInt(hex[(c * size + y) * size + x]!, 16) / 15);
}

/** The sample grid figure: one row of glyphs (one per class) per method, one panel per architecture. */
export function sampleGridFigure(records: ResultRecord[]): FigureSpec | null {
  const grids = records.filter((r) => r.metric === 'sample_grid' && r.note);
  if (!grids.length) return null;
  const firstSeed = Math.min(...grids.map((r) => r.seed));
  const values = grids.filter((r) => r.seed === firstSeed).map((r) => ({
    arch: r.arch, row: `${r.dims?.method} / ${r.dims?.tokenizer}`, url: gridPng(r.note!, Number(r.dims?.size)),
  }));
  const width = 320, height = width / GLYPH_CLASSES.length;
  return {
    name: 'sample-grid',
    title: 'Generated glyphs (classes 0-9 left to right), per method and architecture',
    caption: `seed ${firstSeed}; each row one method / tokenizer; classifier-free guidance on the diffusion rows`,
    covers: ['sample_grid'],
    vegaLite: stripsSpec(values, width, height),
  };
}

export const latent: Suite = {
  name: 'latent',
  description: 'LatentLM at glyph and word scale: sigma-VAE / VAE / VQ-VAE tokenizers, next-token diffusion vs VQ on every backbone (diffusion on plain-VAE latents, the sigma-VAE baseline, on the reference backbone); FID in a glyph classifier\'s feature space (not Inception); espeak-ng speech by MCD, phoneme error rate, speaker similarity',
  settings: withCalibration(LATENT_SETTINGS, readCalibration(new URL('./calibration.json', import.meta.url))),
  figures(records, kit) {
    const grid = sampleGridFigure(records);
    const speech = speechFigure(records, (preset) => LATENT_SETTINGS[preset]?.speech);
    return [
      ...(grid ? [grid] : []),
      ...(speech ? [speech] : []),
      kit.bars(records, 'fid', { title: 'FID (glyph-classifier features, not Inception) of next-token diffusion on sigma-VAE latents', where: { method: 'diffusion', tokenizer: 'sigma-vae' } }),
      kit.bars(records, 'fid', { title: 'FID of the VQ baseline', where: { method: 'vq' } }),
      kit.bars(records, 'mcd', { title: 'Speech: MCD after DTW (dB) of next-token diffusion on sigma-VAE latents', where: { method: 'diffusion' } }),
      kit.bars(records, 'mcd', { title: 'Speech: MCD after DTW (dB) of the VQ baseline', where: { method: 'vq' } }),
    ];
  },
  metrics: {
    sample_grid: { direction: 'none', kind: 'info', headline: false },
    fid: { direction: 'lower', kind: 'quality', headline: true },
    class_accuracy: { direction: 'higher', kind: 'quality', headline: true },
    floor_fid: { direction: 'lower', kind: 'info', headline: false },
    floor_class_accuracy: { direction: 'higher', kind: 'info', headline: false },
    recon_mse: { direction: 'lower', kind: 'quality', headline: false },
    latent_mu_variance: { direction: 'none', kind: 'info' },
    latent_collapsed_fraction: { direction: 'none', kind: 'info' },
    vae_posterior_variance: { direction: 'none', kind: 'info' },
    classifier_accuracy: { direction: 'higher', kind: 'info', headline: false },
    gen_ms_per_sample: { direction: 'lower', kind: 'latency', headline: false },
    train_seconds: { direction: 'lower', kind: 'bookkeeping', headline: false },
    speech_skipped: { direction: 'none', kind: 'info', headline: false },
    speech_sample: { direction: 'none', kind: 'info', headline: false },
    mcd: { direction: 'lower', kind: 'quality', headline: true },
    per: { direction: 'lower', kind: 'quality', headline: true },
    speaker_similarity: { direction: 'higher', kind: 'quality', headline: true },
    floor_mcd: { direction: 'lower', kind: 'info', headline: false },
    floor_per: { direction: 'lower', kind: 'info', headline: false },
    floor_speaker_similarity: { direction: 'higher', kind: 'info', headline: false },
    recognizer_per: { direction: 'lower', kind: 'info', headline: false },
    speaker_classifier_accuracy: { direction: 'higher', kind: 'info', headline: false },
    reference_mcd: { direction: 'lower', kind: 'info', headline: false },
  },
  async run(ctx): Promise<Measurement[]> {
    const s = LATENT_SETTINGS[ctx.preset.name];
    if (!s) throw new Error(`latent: no settings for preset '${ctx.preset.name}'; valid: ${Object.keys(LATENT_SETTINGS).join(', ')}`);
    const sh = await shared(ctx, s);
    const out: Measurement[] = [...sh.records];
    const labels = Array.from({ length: s.samples }, (_, i) => i % GLYPH_CLASSES.length);
    const width = s.size * s.size;
    const steps = Math.max(...s.diffusionSteps);

    // floor 1: the sigma-VAE decoder on random latents z ~ N(0, I)
    const sigmaTok = sh.tokenizers.get('sigma-vae')!;
    const randomImages = tf.tidy(() => sigmaTok.decode(tf.randomNormal([s.samples, sigmaTok.tokens, s.tokenizer.latent], 0, 1, 'float32', tfSeed(ctx.seed + 5))));
    const floorRandom = await imageScores(sh.classifier, randomImages, labels, sh.real, ctx.seed + 1);
    randomImages.dispose();
    out.push({ metric: 'floor_fid', value: floorRandom.fid, unit: 'fid', ci95: floorRandom.ci95, dims: { floor: 'random-latents', tokenizer: 'sigma-vae', samples: s.samples } });

    let blindAccuracy = 1 / GLYPH_CLASSES.length;
    for (const v of VARIANTS.filter((x) => !x.referenceOnly || ctx.spec.name === REFERENCE_ARCH)) {
      const tok = sh.tokenizers.get(v.tokenizer)!;
      const lm = buildModel(ctx.spec, ctx.matched.config, ctx.seed);
      const gen = new LatentGenerator(lm, v.method, tok, GLYPH_CLASSES.length, s.generator, ctx.seed);
      const t0 = performance.now();
      const finalLoss = await trainGenerator(gen, sh.train.pixels, width, sh.train.labels, s.train, ctx.seed);
      const dims = { method: v.method, tokenizer: v.tokenizer, steps: s.train.steps, batch: s.train.batch };
      out.push({ metric: 'train_seconds', value: (performance.now() - t0) / 1000, unit: 's', dims, note: `final loss ${finalLoss.toFixed(4)}` });
      ctx.meter.sample();

      const genSteps = v.method === 'diffusion' ? steps : 0;
      const gd = { method: v.method, tokenizer: v.tokenizer, diffusion_steps: genSteps, guidance: v.method === 'diffusion' ? s.guidance : 1, samples: s.samples };
      const images = await gen.generate(labels, steps, s.guidance, ctx.seed + 11);
      const sc = await imageScores(sh.classifier, images, labels, sh.real, ctx.seed + 2);
      const grid = labels.length >= GLYPH_CLASSES.length ? await encodeGrid(images.slice(0, GLYPH_CLASSES.length) as tf.Tensor2D) : '';
      images.dispose();
      if (v.method === 'diffusion' && v.tokenizer === 'sigma-vae') {
        // floor 2: the same model sampled class-blind (the null class), scored against the requested classes
        const blind = await gen.generate(labels.map(() => gen.nullClass), steps, 1, ctx.seed + 13);
        const b = await imageScores(sh.classifier, blind, labels, sh.real, ctx.seed + 3);
        blind.dispose();
        blindAccuracy = b.k / b.n;
        out.push({ metric: 'floor_class_accuracy', value: blindAccuracy, unit: 'fraction', ci95: wilson(b.k, b.n), dims: { floor: 'class-blind', samples: b.n } });
      }
      // cost: one batch of one glyph per class, for every diffusion step count (sigma-VAE) or once
      const timedSteps = v.method === 'diffusion' && v.tokenizer === 'sigma-vae' ? s.diffusionSteps : [steps];
      const times = await timedGeneration(gen, GLYPH_CLASSES.map((_, i) => i), timedSteps, s.guidance, ctx.seed + 17);
      for (const [st, t] of times) {
        out.push({ metric: 'gen_ms_per_sample', value: t.ms, unit: 'ms', ci95: t.ci95, dims: { ...gd, diffusion_steps: v.method === 'diffusion' ? st : 0, samples: GLYPH_CLASSES.length }, note: t.note });
      }
      const flag = floorFlag(sc.fid, floorRandom.fid, sc.k, sc.n, blindAccuracy);
      out.push({ metric: 'fid', value: sc.fid, unit: 'fid', ci95: sc.ci95, dims: gd, flag, note: `FID in the glyph classifier's feature space, not Inception FID; bootstrap interval over the samples (${FID_RESAMPLES} resamples)` });
      out.push({ metric: 'class_accuracy', value: sc.k / sc.n, unit: 'fraction', ci95: wilson(sc.k, sc.n), dims: gd, flag });
      if (grid) out.push({ metric: 'sample_grid', value: GLYPH_CLASSES.length, unit: 'glyphs', dims: { ...gd, size: s.size }, note: grid });
      gen.params.dispose();
      disposeModel(lm);
    }
    // every record says its modality, so that claims and tables never mix image and speech values
    return [...out.map((m) => ({ ...m, dims: { modality: 'image', ...m.dims } })), ...await speechUnit(ctx, s.speech)];
  },
};

registerSuite(latent);
