// The latent suite's speech half: espeak-ng data deterministic per seed, the log-mel DFT on a tone, the
// WAV round trip, DTW-MCD on identical / shifted-stretched / different signals, the edit distance on hand
// cases, the flat-start alignment, and a tiny end-to-end run of the speech half.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../architectures/index.ts';
import { getArchitecture } from '../architectures/registry.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus, decode } from '../harness/data/corpus.ts';
import { PeakMeter } from '../harness/measure.ts';
import { matchedConfig } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import type { SuiteContext } from '../suites/interface.ts';
import { LATENT_SETTINGS } from '../suites/latent/settings.ts';
import { makeSpeech, type SpeechSettings } from '../suites/latent/speech/data.ts';
import { espeakMissing } from '../suites/latent/speech/espeak.ts';
import { buildSpeechShared, runSpeech, speechUnit } from '../suites/latent/speech/half.ts';
import { griffinLim, logMel, melFilterbank, type MelSettings } from '../suites/latent/speech/mel.ts';
import { editDistance, mcdDtw, phonemeErrorRate } from '../suites/latent/speech/metrics.ts';
import { collapse, flatStart } from '../suites/latent/speech/recognizer.ts';
import { readWav, wavBytes } from '../suites/latent/speech/wav.ts';
import { seededRandom } from '../suites/latent/glyphs.ts';
import { onlyIf, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

const MISSING = espeakMissing();
const HAS_ESPEAK = onlyIf(MISSING === null, 'latent speech data and end-to-end tests', MISSING ?? '');
const MEL: MelSettings = { sampleRate: 22050, window: 512, hop: 256, mels: 32, frames: 24, fmax: 8000 };
const tone = (hz: number, n: number, rate = 22050) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));
const argmaxBand = (mel: Float32Array, t: number, m: number) => { const row = Array.from(mel.subarray(t * m, (t + 1) * m)); return row.indexOf(Math.max(...row)); };

describe('log-mel and its inverse', () => {
  it('puts a pure tone in the mel band whose filter peaks nearest it, and Griffin-Lim gives back a tone there', async () => {
    const mel = await logMel([tone(1000, 24 * 256 + 512)], MEL);
    const fb = melFilterbank(MEL), bin = Math.round((1000 * MEL.window) / MEL.sampleRate);
    const row = Array.from({ length: MEL.mels }, (_, j) => fb[bin * MEL.mels + j]!);
    const expected = row.indexOf(Math.max(...row));
    expect(argmaxBand(mel, 10, MEL.mels)).toBe(expected);
    const wave = griffinLim(mel, MEL, 8, seededRandom(1));
    const again = await logMel([wave], MEL);
    expect(argmaxBand(again, 10, MEL.mels)).toBe(expected);
  });

  it('writes and reads 16-bit PCM WAV', () => {
    const x = tone(440, 1000);
    const back = readWav(wavBytes(x, 22050));
    expect(back.sampleRate).toBe(22050);
    expect(Math.max(...x.map((v, i) => Math.abs(v - back.samples[i]!)))).toBeLessThan(1e-4);
  });
});

describe('DTW mel-cepstral distortion', () => {
  const M = 16;
  /** A log-mel [T*M] whose spectral peak sweeps over the bands, `hold` frames per band. */
  const sweep = (hold: number, start: number, lead = 0) => {
    const T = lead + 12 * hold;
    return Float32Array.from({ length: T * M }, (_, i) => {
      const t = Math.floor(i / M), m = i % M;
      const centre = t < lead ? start : start + Math.floor((t - lead) / hold);
      return -8 + 6 * Math.exp(-((m - centre) ** 2) / 4);
    });
  };
  it('is 0 on an identical signal, small on a delayed and time-stretched copy, larger on a different signal', () => {
    const a = sweep(2, 2);
    expect(mcdDtw(a, a, M, 12)).toBe(0);
    const stretched = mcdDtw(a, sweep(3, 2, 4), M, 12); // 4 frames of delay, 1.5x slower
    const different = mcdDtw(a, Float32Array.from({ length: a.length }, (_, i) => -8 + 6 * Math.exp(-((M - 1 - (i % M) - 3) ** 2) / 1)), M, 12);
    expect(stretched).toBeLessThan(0.5);
    expect(different).toBeGreaterThan(5 * Math.max(stretched, 0.5));
  });
});

describe('phoneme error rate', () => {
  it('counts substitutions, insertions and deletions', () => {
    expect(editDistance([], [])).toBe(0);
    expect(editDistance(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(editDistance(['a', 'x', 'c'], ['a', 'b', 'c'])).toBe(1);
    expect(editDistance(['a', 'c'], ['a', 'b', 'c'])).toBe(1);
    expect(editDistance(['a', 'b', 'b', 'c'], ['a', 'b', 'c'])).toBe(1);
    expect(editDistance(['k', 'I', 't', 'n'], ['s', 'I', 't', 'I', 'N'])).toBe(3);
    expect(phonemeErrorRate([], ['a', 'b'])).toBe(1);
    expect(phonemeErrorRate(['a', 'b', 'c', 'd'], ['a', 'b'])).toBe(1);
  });

  it('aligns phonemes evenly over the voiced frames and decodes runs', () => {
    const mel = Float32Array.from({ length: 10 * 2 }, (_, i) => (Math.floor(i / 2) >= 2 && Math.floor(i / 2) < 8 ? -1 : -14));
    expect(Array.from(flatStart(mel, 2, [3, 5, 7]))).toEqual([0, 0, 3, 3, 5, 5, 7, 7, 0, 0]);
    expect(collapse([0, 3, 3, 0, 5, 5, 5, 3, 3, 0])).toEqual([3, 5, 3]);
    expect(collapse([0, 3, 3, 7, 3, 3, 5, 0, 0])).toEqual([3]); // single-frame flicker (7, 5) is dropped, the 3s join
  });
});

describe('without espeak-ng', () => {
  it('skips the speech half with one record saying why', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const out = await speechUnit({ preset: PRESETS.tiny!, seed: 0 } as unknown as SuiteContext, LATENT_SETTINGS.tiny!.speech);
      expect(out).toHaveLength(1);
      expect(out[0]!.metric).toBe('speech_skipped');
      expect(out[0]!.note).toMatch(/espeak-ng not found.*apt-get install espeak-ng/);
    } finally {
      process.env.PATH = path;
    }
  });
});

const quick: SpeechSettings = (() => {
  const s = LATENT_SETTINGS.tiny!.speech;
  return { ...s, voices: s.voices.slice(0, 2), words: 2, trainPerClass: 2, testPerClass: 1, tokenizer: { ...s.tokenizer, steps: 20 }, recognizer: { ...s.recognizer, steps: 20 }, speaker: { ...s.speaker, steps: 20 }, train: { ...s.train, steps: 4 }, diffusionSteps: [2, 3] };
})();

describe.runIf(HAS_ESPEAK)('espeak-ng speech data', () => {
  const text = decode(loadCorpus().splits.train);
  it('is deterministic per seed (words, phonemes, log-mels) and differs across seeds', async () => {
    const a = await makeSpeech(quick, text, 3), b = await makeSpeech(quick, text, 3), c = await makeSpeech(quick, text, 4);
    expect(a.words).toEqual(b.words);
    expect(a.phonemes).toEqual(b.phonemes);
    expect(Buffer.from(a.train.logMels.buffer).equals(Buffer.from(b.train.logMels.buffer))).toBe(true);
    expect(Array.from(a.train.labels)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(Buffer.from(a.train.logMels.buffer).equals(Buffer.from(c.train.logMels.buffer))).toBe(false);
    expect(a.phonemes.every((p) => p.length >= 2)).toBe(true);
  }, 60_000);

  it('runs the speech half end to end at a tiny size, with every metric finite and one WAV-able sample per voice and method', async () => {
    const data = await makeSpeech(quick, text, 1);
    const sh = await buildSpeechShared(new ModelCache(tempDir()), quick, data, 'corpus', 1);
    const spec = getArchitecture('transformer')!;
    const ctx = { preset: PRESETS.tiny!, seed: 1, spec, matched: matchedConfig(spec, PRESETS.tiny!, 'params'), meter: new PeakMeter() } as unknown as SuiteContext;
    const out = await runSpeech(ctx, quick, sh);
    for (const metric of ['mcd', 'per', 'speaker_similarity']) {
      const got = out.filter((m) => m.metric === metric);
      expect(got.map((m) => m.dims?.method).sort()).toEqual(['diffusion', 'vq']);
      for (const m of got) expect(Number.isFinite(m.value)).toBe(true);
    }
    expect(out.filter((m) => m.metric === 'gen_ms_per_sample' && m.dims?.method === 'diffusion').map((m) => m.dims?.diffusion_steps)).toEqual([2, 3]);
    expect(out.filter((m) => m.metric === 'speech_sample')).toHaveLength(2 * quick.voices.length);
    expect(sh.records.map((m) => m.metric)).toContain('recognizer_per');
  }, 120_000);

  it('trains the shared parts once: a second unit loads them from the model cache with the same records, a corrupt entry is rebuilt', async () => {
    const data = await makeSpeech(quick, text, 2);
    const dir = tempDir(), cache = new ModelCache(dir);
    const fresh = await buildSpeechShared(cache, quick, data, 'corpus', 2);
    const again = await buildSpeechShared(cache, quick, data, 'corpus', 2);
    expect([fresh.cache, again.cache]).toEqual(['trained', 'hit']);
    expect(again.records).toEqual(fresh.records);
    expect(again.centroids).toEqual(fresh.centroids);
    const rows = tf.tensor2d(data.test.rows, [data.test.n, quick.mel.frames * quick.mel.mels]);
    const [a, b] = [fresh, again].map((sh) => sh.tokenizers.get('sigma-vae')!.encode(rows));
    expect(Array.from(await a!.data())).toEqual(Array.from(await b!.data()));
    expect(await again.recognizer.recognise(data.test.rows, data.test.n)).toEqual(await fresh.recognizer.recognise(data.test.rows, data.test.n));
    for (const t of [a!, b!, rows]) t.dispose();
    const entry = readdirSync(dir).find((n) => !n.startsWith('.'))!;
    writeFileSync(join(dir, entry, 'weights.bin'), Buffer.from('truncated'));
    const rebuilt = await buildSpeechShared(cache, quick, data, 'corpus', 2);
    expect(rebuilt.cache).toBe('rebuilt');
    expect(rebuilt.records).toEqual(fresh.records);
  }, 120_000);
});
