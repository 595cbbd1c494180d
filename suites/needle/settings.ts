// The needle suite's settings per preset (plain data; the manifest records them with the calibration
// history of ./calibration.json). The MQAR grid's task symbols and training stream come from
// ../tasks/mqar.ts, shared with the icl suite.
import { MQAR_STREAMS, type MqarStreamSettings } from '../tasks/mqar.ts';
import type { NeedleFormat } from '../tasks/retrieval.ts';
import { TASK_ADAMW, smallTaskModel, type TaskTraining } from '../tasks/training.ts';

export interface NeedleGrid {
  /** [needles, queried] settings evaluated. */
  settings: [number, number][];
  /** The calibration setting (the suite's middle setting). */
  middle: [number, number];
  /** Lengths for every setting, as multiples of T. */
  lengths: number[];
  /** Extra lengths (multiples of T) for the middle setting only: its full depth x length heatmap. */
  middleLengths: number[];
  /** Depths d/(depths+1), d = 1..depths (10 gives the d/11 protocol). */
  depths: number;
  /** Seeded episodes per (setting, length, depth) cell. */
  trials: number;
  /** Needle counts in training episodes (every needle queried). */
  trainNeedles: number[];
  /** Training densification: up to this many repeated queries after the regular ones (0: none). */
  trainExtra: number;
  /** This task's own model (left out when the settings train one `shared` model). */
  training?: TaskTraining;
}

/** The MQAR grid; its task symbols and training stream are the preset's MQAR_STREAMS entry (shared with icl). */
export interface MqarGrid extends MqarStreamSettings {
  pairs: number[];
  middle: number;
  /** Multiples of T. */
  lengths: number[];
  /** Queries per (pairs, length) cell, at least: ceil(queries / k) episodes, each querying every key. */
  queries: number;
  /** This task's own model (left out when the settings train one `shared` model). */
  training?: TaskTraining;
}

export interface RetrievalSettings {
  format: NeedleFormat;
  needle: NeedleGrid;
  mqar: MqarGrid;
  /** Episodes decoded together. */
  evalBatch: number;
  /** When set, one model trains on both tasks' streams (1:1) with this recipe, instead of one model per task (then the grids' own `training` is left out). */
  shared?: TaskTraining;
}

export const RETRIEVAL_SETTINGS: Record<string, RetrievalSettings> = {
  tiny: {
    format: 'compact',
    needle: {
      settings: [[1, 1], [2, 2], [2, 1]], middle: [2, 1], lengths: [1, 2], middleLengths: [], depths: 2, trials: 1,
      trainNeedles: [1, 2], trainExtra: 2, training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 6 } },
    },
    mqar: {
      pairs: [2, 4], middle: 2, lengths: [1, 2], queries: 8, ...MQAR_STREAMS.tiny!,
      training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 6 } },
    },
    evalBatch: 8,
  },
  small: {
    format: 'compact',
    needle: {
      settings: [[1, 1], [2, 2], [4, 2], [6, 2], [2, 1], [4, 1], [8, 1]], middle: [4, 2], lengths: [1, 8], middleLengths: [0.5, 2, 4],
      depths: 10, trials: 1, trainNeedles: [1, 2, 4], trainExtra: 8,
      // 1,500 steps: at 2,000 the reference passes the band's top (117/128 on the probe)
      training: smallTaskModel(1500),
    },
    mqar: {
      pairs: [2, 4, 8, 16], middle: 4, lengths: [1, 2, 4, 8], queries: 256, ...MQAR_STREAMS.small!,
      training: smallTaskModel(2000),
    },
    evalBatch: 16,
  },
  // paper: task models from the text checkpoint, 50 steps x 8 x 2048 = 0.8M tokens each, the night's share in
  // harness/presets.ts (not calibrated: the band is checked on the first GPU night)
  paper: {
    format: 'natural',
    needle: {
      settings: [[1, 1], [2, 2], [4, 2], [6, 2], [2, 1], [4, 1], [8, 1]], middle: [4, 2], lengths: [0.5, 1, 2, 4, 8], middleLengths: [],
      depths: 10, trials: 5, trainNeedles: [1, 2, 4, 6, 8], trainExtra: 8, training: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 5, batch: 8, steps: 50 } },
    },
    mqar: {
      pairs: [4, 8, 16, 32], middle: 8, lengths: [1, 2, 4, 8], queries: 256, ...MQAR_STREAMS.paper!,
      training: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 5, batch: 8, steps: 50 } },
    },
    evalBatch: 4,
  },
  // the smoke preset (harness/presets.ts): tiny's grids at T = 128, scratch task models of 60 steps (not calibrated)
  smoke: {
    format: 'compact',
    needle: {
      settings: [[1, 1], [2, 2], [2, 1]], middle: [2, 1], lengths: [1, 2], middleLengths: [], depths: 2, trials: 1,
      trainNeedles: [1, 2], trainExtra: 2, training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 6, batch: 8, steps: 60 } },
    },
    mqar: {
      pairs: [2, 4], middle: 2, lengths: [1, 2], queries: 8, ...MQAR_STREAMS.smoke!,
      training: { init: 'scratch', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 6, batch: 8, steps: 60 } },
    },
    evalBatch: 16,
  },
};
