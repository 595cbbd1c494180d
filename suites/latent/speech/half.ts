// The speech half of the latent suite (LatentLM's TTS side at our scale): espeak-ng words as log-mels,
// sigma-VAE / VAE / VQ tokenizers on groups of frames, next-token diffusion (sigma-VAE latents) and VQ
// code prediction with the architecture as backbone and the class (speaker, word) as the condition prefix.
// Metrics: MCD after DTW against the class's reference utterance, phoneme error rate by a recognizer
// trained here, speaker similarity (cosine of a speaker classifier's embeddings with the speaker's centroid
// over the real test utterances), generation time. Floors: the sigma-VAE decoder on random latents, and a
// speaker-blind sampler (the null class); a method not better than both is flagged 'floor'.
import * as tf from '@tensorflow/tfjs';
import type { ModelCache } from '../../../harness/cache.ts';
import { decode } from '../../../harness/data/corpus.ts';
import { buildModel, disposeModel } from '../../../harness/models.ts';
import { meanCi, wilson } from '../../../harness/stats.ts';
import type { Measurement, SuiteContext } from '../../interface.ts';
import { MlpClassifier } from '../fid.ts';
import { LatentGenerator, type Method } from '../generator.ts';
import { tfSeed } from '../nets.ts';
import { cachedParts } from '../shared-cache.ts';
import { frameLayout, tokenizerParts, tokenizers, type Tokenizer, type TokenizerKind } from '../tokenizers.ts';
import { timedGeneration, trainGenerator, trainTokenizers } from '../units.ts';
import { makeSpeech, type SpeechData, type SpeechSettings } from './data.ts';
import { espeakMissing, espeakVersion } from './espeak.ts';
import { denormalise } from './mel.ts';
import { mcdDtw, phonemeErrorRate } from './metrics.ts';
import { PhonemeRecognizer } from './recognizer.ts';

/** What every architecture of a (preset, seed) shares. */
export interface SpeechShared {
  data: SpeechData;
  tokenizers: Map<TokenizerKind, Tokenizer>;
  recognizer: PhonemeRecognizer;
  speakers: MlpClassifier;
  /** Speaker centroids of the classifier's features over the real test utterances [voices][F]. */
  centroids: number[][];
  records: Measurement[];
  /** Whether the trained parts came from the model cache. */
  cache: 'hit' | 'trained' | 'rebuilt';
}

const SPEECH = { modality: 'speech' } as const;
const VARIANTS: { method: Method; tokenizer: TokenizerKind }[] = [
  { method: 'diffusion', tokenizer: 'sigma-vae' },
  { method: 'vq', tokenizer: 'vq' },
];

const cosine = (a: number[], b: number[]) => {
  let ab = 0, aa = 0, bb = 0;
  a.forEach((x, i) => { ab += x * b[i]!; aa += x * x; bb += b[i]! ** 2; });
  return ab / Math.sqrt(aa * bb || 1);
};

/**
 * What does not depend on the architecture: tokenizers, the phoneme recognizer, the speaker classifier, their
 * records and the speaker centroids; trained once per (settings, corpus, seed), then from the model cache.
 */
export async function buildSpeechShared(cache: ModelCache, s: SpeechSettings, data: SpeechData, corpus: string, seed: number): Promise<SpeechShared> {
  const layout = frameLayout(s.mel.frames, s.mel.mels, s.tokenizer.patch);
  const toks = tokenizers(s.tokenizer, layout, seed + 401);
  const recognizer = new PhonemeRecognizer(s, data, seed);
  const sp = s.speaker;
  const speakers = new MlpClassifier(width(s), sp.hidden, sp.features, data.voices.length, seed + 11);
  const train = async () => {
    const x = tf.tensor2d(data.test.rows, [data.test.n, width(s)]);
    const records = await trainTokenizers(toks, data.train.rows, data.train.n, x, seed + 401, 'tokens (4 log-mel frames)');
    await recognizer.train(data, seed);
    const heard = await recognizer.recognise(data.test.rows, data.test.n);
    const per = meanCi(heard.map((h, i) => phonemeErrorRate(h, data.phonemes[data.test.labels[i]!]!)));
    records.push({ metric: 'recognizer_per', value: per.mean, unit: 'ratio', ci95: per.ci95, dims: { split: 'test', inventory: recognizer.inventory.length }, note: 'the phoneme recognizer (flat-start frame classifier) on real espeak-ng test utterances' });
    await speakers.train(data.train.rows, data.train.speakers, sp.steps, sp.batch, sp.lr, seed + 11);
    const { features, predicted } = await speakers.read(x);
    x.dispose();
    const k = predicted.filter((p, i) => p === data.test.speakers[i]).length;
    records.push({ metric: 'speaker_classifier_accuracy', value: k / data.test.n, unit: 'fraction', ci95: wilson(k, data.test.n), dims: { split: 'test', voices: data.voices.length } });
    const centroids = data.voices.map((_, v) => {
      const own = features.filter((_, i) => data.test.speakers[i] === v);
      return own[0]!.map((_, j) => own.reduce((a, f) => a + f[j]!, 0) / own.length);
    });
    const mcd = meanCi(Array.from({ length: data.test.n }, (_, i) => mcdAgainstReference(s, data, data.test.logMels.subarray(i * width(s), (i + 1) * width(s)), data.test.labels[i]!)));
    records.push({ metric: 'reference_mcd', value: mcd.mean, unit: 'dB', ci95: mcd.ci95, dims: { split: 'test' }, note: 'real espeak-ng test utterances (other rates and pitches) against their class reference: the distance a faithful generator could reach' });
    return { records: records.map((m) => ({ ...m, dims: { ...SPEECH, ...m.dims } })), centroids };
  };
  const parts = { ...tokenizerParts(toks), recognizer: recognizer.net.params, speakers: speakers.params };
  const { voices, words, trainPerClass, testPerClass, mel, tokenizer, recognizer: r, speaker, cepstra } = s;
  const { info, cache: status } = await cachedParts(cache, 'speech', { voices, words, trainPerClass, testPerClass, mel, tokenizer, recognizer: r, speaker, cepstra, corpus, espeak: espeakVersion() }, seed, parts, train);
  return { data, tokenizers: toks, recognizer, speakers, centroids: info.centroids, records: info.records, cache: status };
}

const width = (s: SpeechSettings) => s.mel.frames * s.mel.mels;

function mcdAgainstReference(s: SpeechSettings, data: SpeechData, logMel: Float32Array, label: number): number {
  const w = width(s);
  return mcdDtw(logMel, data.references.logMels.subarray(label * w, (label + 1) * w), s.mel.mels, s.cepstra);
}

interface Scores { mcd: { mean: number; ci95: [number, number] }; per: { mean: number; ci95: [number, number] }; similarity: { mean: number; ci95: [number, number] } }

/** Generated rows [n, T*M] in [0, 1] for class labels -> MCD, PER and speaker similarity (means with intervals). */
async function speechScores(s: SpeechSettings, sh: SpeechShared, rows: tf.Tensor2D, labels: number[]): Promise<Scores & { values: Float32Array }> {
  const values = (await rows.data()) as Float32Array;
  const w = width(s), words = sh.data.words.length;
  const logMels = values.map(denormalise);
  const heard = await sh.recognizer.recognise(values, labels.length);
  const { features } = await sh.speakers.read(rows);
  return {
    values,
    mcd: meanCi(labels.map((l, i) => mcdAgainstReference(s, sh.data, logMels.subarray(i * w, (i + 1) * w), l))),
    per: meanCi(heard.map((h, i) => phonemeErrorRate(h, sh.data.phonemes[labels[i]!]!))),
    similarity: meanCi(features.map((f, i) => cosine(f, sh.centroids[Math.floor(labels[i]! / words)]!))),
  };
}

/** A normalised log-mel [T*M] as two hex digits (256 levels) per value, frame-major: the speech_sample record. */
function melHex(values: Float32Array): string {
  return Array.from(values, (v) => Math.min(255, Math.max(0, Math.round(v * 255))).toString(16).padStart(2, '0')).join('');
}

const SHARED = new Map<string, Promise<SpeechShared>>();

/** The speech half of a unit: its records, or one record saying why it is skipped (no espeak-ng). */
export async function speechUnit(ctx: SuiteContext, s: SpeechSettings): Promise<Measurement[]> {
  const missing = espeakMissing();
  if (missing) return [{ metric: 'speech_skipped', value: 1, unit: 'count', dims: SPEECH, note: `the speech half is skipped: ${missing}` }];
  const key = `${ctx.preset.name}:${ctx.seed}`;
  if (!SHARED.has(key)) SHARED.set(key, makeSpeech(s, decode(ctx.corpus.splits.train), ctx.seed).then((data) => buildSpeechShared(ctx.cache, s, data, ctx.corpus.sha256, ctx.seed)));
  const sh = await SHARED.get(key)!;
  return [...sh.records, ...await runSpeech(ctx, s, sh)];
}

/** The speech half for one architecture. */
export async function runSpeech(ctx: SuiteContext, s: SpeechSettings, sh: SpeechShared): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const classes = sh.data.voices.length * sh.data.words.length;
  const labels = Array.from({ length: classes * s.samplesPerClass }, (_, i) => i % classes);
  const steps = Math.max(...s.diffusionSteps);
  const w = width(s);

  // floor 1: the sigma-VAE decoder on random latents z ~ N(0, I)
  const sigmaTok = sh.tokenizers.get('sigma-vae')!;
  const random = tf.tidy(() => sigmaTok.decode(tf.randomNormal([labels.length, sigmaTok.tokens, s.tokenizer.latent], 0, 1, 'float32', tfSeed(ctx.seed + 405))));
  const floor = await speechScores(s, sh, random, labels);
  random.dispose();
  const fd = { ...SPEECH, floor: 'random-latents', tokenizer: 'sigma-vae', samples: labels.length };
  out.push({ metric: 'floor_mcd', value: floor.mcd.mean, unit: 'dB', ci95: floor.mcd.ci95, dims: fd });
  out.push({ metric: 'floor_per', value: floor.per.mean, unit: 'ratio', ci95: floor.per.ci95, dims: fd });

  let blindSimilarity = floor.similarity.mean;
  for (const v of VARIANTS) {
    const tok = sh.tokenizers.get(v.tokenizer)!;
    const lm = buildModel(ctx.spec, ctx.matched.config, ctx.seed);
    const gen = new LatentGenerator(lm, v.method, tok, classes, s.generator, ctx.seed + 400);
    const t0 = performance.now();
    const finalLoss = await trainGenerator(gen, sh.data.train.rows, w, sh.data.train.labels, s.train, ctx.seed + 400);
    const dims = { ...SPEECH, method: v.method, tokenizer: v.tokenizer, steps: s.train.steps, batch: s.train.batch };
    out.push({ metric: 'train_seconds', value: (performance.now() - t0) / 1000, unit: 's', dims, note: `final loss ${finalLoss.toFixed(4)}` });
    ctx.meter.sample();

    const gd = { ...SPEECH, method: v.method, tokenizer: v.tokenizer, diffusion_steps: v.method === 'diffusion' ? steps : 0, guidance: v.method === 'diffusion' ? s.guidance : 1, samples: labels.length };
    const rows = await gen.generate(labels, steps, s.guidance, ctx.seed + 411);
    const sc = await speechScores(s, sh, rows, labels);
    rows.dispose();
    if (v.method === 'diffusion') {
      // floor 2: the same model sampled speaker-blind (the null class), scored against the requested speakers
      const blind = await gen.generate(labels.map(() => gen.nullClass), steps, 1, ctx.seed + 413);
      const b = await speechScores(s, sh, blind, labels);
      blind.dispose();
      blindSimilarity = b.similarity.mean;
      out.push({ metric: 'floor_speaker_similarity', value: b.similarity.mean, unit: 'cosine', ci95: b.similarity.ci95, dims: { ...SPEECH, floor: 'speaker-blind', samples: labels.length } });
    }
    const timedSteps = v.method === 'diffusion' ? s.diffusionSteps : [steps];
    const times = await timedGeneration(gen, Array.from({ length: classes }, (_, i) => i), timedSteps, s.guidance, ctx.seed + 417);
    for (const [st, t] of times) {
      out.push({ metric: 'gen_ms_per_sample', value: t.ms, unit: 'ms', ci95: t.ci95, dims: { ...gd, diffusion_steps: v.method === 'diffusion' ? st : 0, samples: classes }, note: `per utterance; ${t.note}` });
    }
    const flag = sc.mcd.mean >= floor.mcd.mean || sc.similarity.mean <= blindSimilarity ? 'floor' : undefined;
    out.push({ metric: 'mcd', value: sc.mcd.mean, unit: 'dB', ci95: sc.mcd.ci95, dims: gd, flag, note: `mel-cepstral distortion (c1-c${s.cepstra}) after DTW against the class's reference utterance` });
    out.push({ metric: 'per', value: sc.per.mean, unit: 'ratio', ci95: sc.per.ci95, dims: gd, flag, note: 'phoneme error rate of the recognizer trained here on espeak-ng data' });
    out.push({ metric: 'speaker_similarity', value: sc.similarity.mean, unit: 'cosine', ci95: sc.similarity.ci95, dims: gd, flag, note: "cosine of the speaker classifier's features with the speaker's centroid" });
    // one generated utterance per voice (its first word), for the report's spectrograms and WAV files
    sh.data.voices.forEach((voice, sp) => {
      const i = labels.indexOf(sp * sh.data.words.length);
      out.push({ metric: 'speech_sample', value: i, unit: 'index', dims: { ...SPEECH, method: v.method, tokenizer: v.tokenizer, voice, word: sh.data.words[0]!, frames: s.mel.frames, mels: s.mel.mels }, note: melHex(sc.values.subarray(i * w, (i + 1) * w)) });
    });
    gen.params.dispose();
    disposeModel(lm);
  }
  return out;
}
