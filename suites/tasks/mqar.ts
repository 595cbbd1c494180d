// The MQAR training stream of each preset, shared by the needle suite (its MQAR task models train on it)
// and the icl suite (which interleaves it with its own stream where its settings say withMqar): the task's
// symbols and filler and the training settings, as data, and the stream built from them.
import type { Corpus } from '../../harness/data/corpus.ts';
import type { WindowStream } from '../../harness/data/streams.ts';
import { taskStream, type EpisodeTask } from './episodes.ts';
import { mqarTask, type MqarSetting } from './retrieval.ts';

export interface MqarStreamSettings {
  keySymbols: number;
  valueSymbols: number;
  filler: 'pad' | 'text';
  trainPairs: number[];
  /** Training densification: up to this many repeated queries after the k regular ones (0: none). */
  trainExtra: number;
  /** With trainExtra: always as many repeated queries as fit (no filler left in training windows). */
  trainFill?: boolean;
}

export const MQAR_STREAMS: Record<string, MqarStreamSettings> = {
  tiny: { keySymbols: 16, valueSymbols: 16, filler: 'pad', trainPairs: [2, 4], trainExtra: 8 },
  small: { keySymbols: 16, valueSymbols: 16, filler: 'pad', trainPairs: [4], trainExtra: 28, trainFill: true },
  paper: { keySymbols: 64, valueSymbols: 64, filler: 'pad', trainPairs: [4, 8, 16, 32], trainExtra: 64 },
  smoke: { keySymbols: 16, valueSymbols: 16, filler: 'pad', trainPairs: [2, 4], trainExtra: 8 },
};

/** The MQAR task of these settings (training and evaluation episodes). */
export const mqarOf = (corpus: Corpus, s: MqarStreamSettings): EpisodeTask<MqarSetting> =>
  mqarTask(corpus, { keySymbols: s.keySymbols, valueSymbols: s.valueSymbols, filler: s.filler });

/** The training settings, one per number of pairs. */
export const mqarTrainSettings = (s: MqarStreamSettings): MqarSetting[] =>
  s.trainPairs.map((pairs) => ({ pairs, ...(s.trainExtra ? { extra: s.trainExtra, ...(s.trainFill ? { fill: true } : {}) } : {}) }));

/** A preset's MQAR training stream. */
export function mqarTrainingStream(corpus: Corpus, preset: string): WindowStream {
  const s = MQAR_STREAMS[preset];
  if (!s) throw new Error(`mqar: no stream settings for preset ${preset}`);
  return taskStream(mqarOf(corpus, s), mqarTrainSettings(s));
}
