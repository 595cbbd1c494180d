// The speech data set: every (voice, word) pair is a class (label = speaker * W + word); its utterances are
// espeak-ng's at seeded rates and pitches, and one reference utterance at the voice's default rate and
// pitch (MCD is measured against it). Deterministic per seed: same words, voicings, waveforms, log-mels.
import type { ClassifierSettings, GenerationSettings } from '../units.ts';
import { seededRandom } from '../glyphs.ts';
import { corpusWords, phonemesOf, synthesize, type Voicing } from './espeak.ts';
import { logMel, normalise, type MelSettings } from './mel.ts';

export interface SpeechSettings extends GenerationSettings {
  voices: string[];
  words: number;
  /** Utterances per class in each split (the references are one more per class). */
  trainPerClass: number;
  testPerClass: number;
  mel: MelSettings;
  /** The phoneme recognizer sees each frame with `context` neighbours either side. */
  recognizer: ClassifierSettings & { context: number };
  speaker: ClassifierSettings;
  /** Generated utterances per class and the mel-cepstral order of MCD. */
  samplesPerClass: number;
  cepstra: number;
  /** Griffin-Lim rounds for the report's WAV files. */
  griffinLim: number;
}

export interface SpeechSet {
  /** Log-mels [n, T*M] (natural log of power) and the same mapped to [0, 1] for the tokenizers. */
  logMels: Float32Array;
  rows: Float32Array;
  speakers: Int32Array;
  words: Int32Array;
  labels: Int32Array;
  n: number;
}

export interface SpeechData {
  words: string[];
  voices: string[];
  /** espeak-ng's phonemes per class. */
  phonemes: string[][];
  train: SpeechSet;
  test: SpeechSet;
  references: SpeechSet;
}

const DEFAULT_RATE = 175, DEFAULT_PITCH = 50;

async function makeSet(s: SpeechSettings, words: string[], perClass: number, voicing: (v: string) => Voicing): Promise<SpeechSet> {
  const speakers: number[] = [], ids: number[] = [], waves: Float32Array[] = [];
  for (let r = 0; r < perClass; r++) s.voices.forEach((voice, v) => words.forEach((word, w) => {
    const out = synthesize(voicing(voice), word);
    if (out.sampleRate !== s.mel.sampleRate) throw new Error(`espeak-ng wrote ${out.sampleRate} Hz; the mel settings expect ${s.mel.sampleRate}`);
    speakers.push(v); ids.push(w); waves.push(out.samples);
  }));
  const logMels = await logMel(waves, s.mel);
  return {
    logMels, rows: logMels.map(normalise), n: waves.length,
    speakers: Int32Array.from(speakers), words: Int32Array.from(ids), labels: Int32Array.from(speakers, (v, i) => v * words.length + ids[i]!),
  };
}

/** The speech data of a seed: words from the corpus text, train / test utterances, references. */
export async function makeSpeech(s: SpeechSettings, corpusText: string, seed: number): Promise<SpeechData> {
  const words = corpusWords(corpusText, s.words, seededRandom(seed * 0x9e3779b1 + 29));
  const jitter = (rand: () => number) => (voice: string): Voicing => ({ voice, rate: 150 + Math.floor(rand() * 60), pitch: 30 + Math.floor(rand() * 40) });
  return {
    words, voices: s.voices,
    phonemes: s.voices.flatMap((voice) => words.map((w) => phonemesOf(voice, w))),
    train: await makeSet(s, words, s.trainPerClass, jitter(seededRandom(seed * 2 * 0x9e3779b1 + 31))),
    test: await makeSet(s, words, s.testPerClass, jitter(seededRandom((seed * 2 + 1) * 0x9e3779b1 + 31))),
    references: await makeSet(s, words, 1, (voice) => ({ voice, rate: DEFAULT_RATE, pitch: DEFAULT_PITCH })),
  };
}
