// The speech figure: generated log-mel spectrograms (one per voice, side by side) per method and
// architecture, with WAV files made from them by Griffin-Lim, written beside the figure and linked under it.
import type { ResultRecord } from '../../../harness/store.ts';
import type { FigureSpec } from '../../interface.ts';
import { seededRandom } from '../glyphs.ts';
import { stripPng, stripsSpec } from '../png.ts';
import type { SpeechSettings } from './data.ts';
import { denormalise, griffinLim } from './mel.ts';
import { wavBytes } from './wav.ts';

/** A speech_sample record's note (two hex digits per value, frame-major) -> normalised log-mel [T*M]. */
export function sampleValues(hex: string): Float32Array {
  return Float32Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16) / 255);
}

/** Voices whose samples also become WAV files (each costs a Griffin-Lim run at report time). */
const WAV_VOICES = 2;

export function speechFigure(records: ResultRecord[], settingsOf: (preset: string) => SpeechSettings | undefined): FigureSpec | null {
  const samples = records.filter((r) => r.metric === 'speech_sample' && r.note);
  if (!samples.length) return null;
  const firstSeed = Math.min(...samples.map((r) => r.seed));
  const mine = samples.filter((r) => r.seed === firstSeed);
  const rows = new Map<string, ResultRecord[]>();
  for (const r of mine) {
    const key = `${r.arch}\u0000${r.dims?.method} / ${r.dims?.tokenizer}`;
    rows.set(key, [...(rows.get(key) ?? []), r]);
  }
  const files: NonNullable<FigureSpec['files']> = [];
  const values = [...rows].map(([key, rs]) => {
    const [arch, row] = key.split('\u0000') as [string, string];
    const T = Number(rs[0]!.dims?.frames), M = Number(rs[0]!.dims?.mels);
    const mels = rs.map((r) => sampleValues(r.note!));
    const s = settingsOf(rs[0]!.preset);
    if (s) rs.slice(0, WAV_VOICES).forEach((r, i) => {
      const wave = griffinLim(mels[i]!.map(denormalise), s.mel, s.griffinLim, seededRandom(firstSeed + 1));
      const peak = wave.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-9);
      files.push({ name: `${arch}-${r.dims?.method}-${r.dims?.voice}.wav`.replace(/[^a-z0-9.-]+/gi, '_'), label: `${arch} ${r.dims?.method} ${r.dims?.voice} '${r.dims?.word}'`, bytes: wavBytes(wave.map((v) => (0.9 * v) / peak), s.mel.sampleRate) });
    });
    // time left to right, the highest mel band on top
    return { arch, row, url: stripPng(mels.length, T, M, (c, x, y) => mels[c]![x * M + (M - 1 - y)]!) };
  });
  const width = 480, height = 60;
  return {
    name: 'speech-samples',
    title: `Generated speech: log-mel spectrograms (voices ${[...new Set(mine.map((r) => r.dims?.voice))].join(', ')} left to right), per method and architecture`,
    caption: `seed ${firstSeed}; WAV files by Griffin-Lim (${WAV_VOICES} voices per row) linked below`,
    covers: ['speech_sample'],
    files,
    vegaLite: stripsSpec(values, width, height),
  };
}
