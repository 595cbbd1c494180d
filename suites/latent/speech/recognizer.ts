// A small phoneme recognizer trained here on the espeak-ng data: a frame classifier (MLP) on log-mel frames
// with +-context neighbours, trained on a flat-start alignment (espeak-ng 1.51 prints no timings for its own
// voices): an utterance's phonemes are spread evenly over its voiced frames (mean log-mel above VOICED);
// the frames before and after are silence (class 0). Decoding: the per-frame argmax, runs shorter than
// MIN_RUN frames dropped (single-frame flicker), runs collapsed, silence dropped.
import * as tf from '@tensorflow/tfjs';
import { MlpClassifier } from '../fid.ts';
import type { SpeechData, SpeechSettings } from './data.ts';

/** Mean log-mel (ln power) above which a frame counts as voiced. */
const VOICED = -10;
const SILENCE = 0;
const MIN_RUN = 2;

/** Flat-start frame labels [T] for a log-mel [T*M]: phoneme ids spread evenly over the voiced span. */
export function flatStart(logMel: Float32Array, mels: number, phonemes: number[]): Int32Array {
  const frames = logMel.length / mels;
  const voiced = Array.from({ length: frames }, (_, t) => logMel.subarray(t * mels, (t + 1) * mels).reduce((a, b) => a + b, 0) / mels > VOICED);
  const first = voiced.indexOf(true), last = voiced.lastIndexOf(true);
  const labels = new Int32Array(frames).fill(SILENCE);
  if (first < 0) return labels;
  const span = last - first + 1;
  for (let t = first; t <= last; t++) labels[t] = phonemes[Math.min(phonemes.length - 1, Math.floor(((t - first) * phonemes.length) / span))]!;
  return labels;
}

/** Rows [n*T, (2c+1)*M]: each frame with its c neighbours either side (zeros past the ends). */
export function contextRows(rows: Float32Array, n: number, frames: number, mels: number, context: number): Float32Array {
  const w = (2 * context + 1) * mels;
  const out = new Float32Array(n * frames * w);
  for (let i = 0; i < n; i++) for (let t = 0; t < frames; t++) for (let d = -context; d <= context; d++) {
    const u = t + d;
    if (u >= 0 && u < frames) out.set(rows.subarray((i * frames + u) * mels, (i * frames + u + 1) * mels), ((i * frames + t) * w) + (d + context) * mels);
  }
  return out;
}

/** Frame classes [T] -> phoneme ids: runs shorter than MIN_RUN dropped, then runs collapsed, silence dropped. */
export function collapse(frames: ArrayLike<number>): number[] {
  const runs: { id: number; length: number }[] = [];
  for (let t = 0; t < frames.length; t++) {
    if (runs.length && runs.at(-1)!.id === frames[t]) runs.at(-1)!.length++;
    else runs.push({ id: frames[t]!, length: 1 });
  }
  const out: number[] = [];
  for (const r of runs) if (r.length >= MIN_RUN && r.id !== SILENCE && r.id !== out.at(-1)) out.push(r.id);
  return out;
}

export class PhonemeRecognizer {
  /** Phoneme inventory; index 0 is silence. */
  readonly inventory: string[];
  readonly net: MlpClassifier;
  constructor(readonly s: SpeechSettings, data: SpeechData, seed: number) {
    this.inventory = ['<sil>', ...[...new Set(data.phonemes.flat())].sort()];
    const r = s.recognizer;
    this.net = new MlpClassifier((2 * r.context + 1) * s.mel.mels, r.hidden, r.features, this.inventory.length, seed + 7);
  }

  async train(data: SpeechData, seed: number): Promise<number> {
    const { frames, mels } = this.s.mel, set = data.train;
    const labels = new Int32Array(set.n * frames);
    for (let i = 0; i < set.n; i++) {
      const ids = data.phonemes[set.labels[i]!]!.map((p) => this.inventory.indexOf(p));
      labels.set(flatStart(set.logMels.subarray(i * frames * mels, (i + 1) * frames * mels), mels, ids), i * frames);
    }
    const r = this.s.recognizer;
    return this.net.train(contextRows(set.rows, set.n, frames, mels, r.context), labels, r.steps, r.batch, r.lr, seed + 7);
  }

  /** Normalised log-mels [n, T*M] -> the recognised phoneme strings. */
  async recognise(rows: Float32Array, n: number): Promise<string[][]> {
    const { frames, mels } = this.s.mel;
    const x = tf.tensor2d(contextRows(rows, n, frames, mels, this.s.recognizer.context), [n * frames, this.net.width]);
    const { predicted } = await this.net.read(x);
    x.dispose();
    return Array.from({ length: n }, (_, i) => collapse(predicted.slice(i * frames, (i + 1) * frames)).map((id) => this.inventory[id]!));
  }
}
