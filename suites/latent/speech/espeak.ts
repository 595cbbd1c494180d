// Utterances synthesized by espeak-ng (Debian's 1.51) at run time, deterministic: fixed voices, a rate and
// pitch drawn by seed, words drawn by seed from the embedded corpus. espeak-ng prints its phonemes with
// `-q -x --sep=' '` (its ASCII mnemonics, e.g. "s 'E v @ n"); 1.51 has no phoneme timings for its own
// voices (--pho is for mbrola voices only), so the recognizer aligns phonemes by a flat start (recognizer.ts).
import { spawnSync } from 'node:child_process';
import { readWav } from './wav.ts';

const ESPEAK = 'espeak-ng';

/** Why espeak-ng cannot be used here, or null when it can. */
export function espeakMissing(): string | null {
  const r = spawnSync(ESPEAK, ['--version'], { encoding: 'utf8' });
  if (r.error) return `${ESPEAK} not found (${r.error.message}); Debian: apt-get install espeak-ng`;
  if (r.status !== 0) return `${ESPEAK} --version exited ${r.status}`;
  return null;
}

/** espeak-ng's version line, e.g. "eSpeak NG text-to-speech: 1.51  Data at: ..." (part of the cache key: another version speaks otherwise). */
export function espeakVersion(): string {
  return spawnSync(ESPEAK, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export interface Voicing {
  voice: string;
  /** Words per minute (espeak-ng -s) and pitch 0-99 (-p). */
  rate: number;
  pitch: number;
}

const args = (v: Voicing) => ['-v', v.voice, '-s', String(v.rate), '-p', String(v.pitch)];

/** The waveform espeak-ng makes for `text` in voicing v. */
export function synthesize(v: Voicing, text: string): { samples: Float32Array; sampleRate: number } {
  const r = spawnSync(ESPEAK, [...args(v), '--stdout', text], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${ESPEAK} ${args(v).join(' ')} failed on '${text}': ${String(r.stderr).slice(0, 200)}`);
  return readWav(new Uint8Array(r.stdout));
}

/** espeak-ng's phonemes of `text` in a voice, stress marks removed: "s 'E v @ n" -> [s, E, v, @, n]. */
export function phonemesOf(voice: string, text: string): string[] {
  const r = spawnSync(ESPEAK, ['-v', voice, '-q', '-x', '--sep= ', text], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${ESPEAK} -x failed on '${text}'`);
  return r.stdout.split(/\s+/).map((p) => p.replace(/['",%=]/g, '')).filter((p) => p.length > 0);
}

/**
 * `count` distinct words (4-7 letters, seen at least 5 times) drawn by seed from corpus text, so the
 * utterances are short (about half a second).
 */
export function corpusWords(text: string, count: number, rand: () => number): string[] {
  const seen = new Map<string, number>();
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) if (w.length >= 4 && w.length <= 7) seen.set(w, (seen.get(w) ?? 0) + 1);
  const pool = [...seen].filter(([, n]) => n >= 5).map(([w]) => w).sort();
  if (pool.length < count) throw new Error(`latent speech: the corpus has ${pool.length} words of 4-7 letters seen 5 times; need ${count}`);
  const out: string[] = [];
  while (out.length < count) {
    const w = pool[Math.floor(rand() * pool.length)]!;
    if (!out.includes(w)) out.push(w);
  }
  return out;
}
