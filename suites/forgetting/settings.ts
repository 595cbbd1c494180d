// The forgetting suite's settings per preset (plain data; the manifest records them).
import { TASK_ADAMW, type TaskTraining } from '../tasks/training.ts';
import type { TreeSettings } from './tree.ts';

export interface ForgettingSettings {
  /** Tree generation (and the uniform ablation's sampling). */
  tree: TreeSettings;
  /** Bytes of domain-B records generated for fine-tuning. */
  bBytes: number;
  /** One fine-tuning recipe for every method and architecture, from the text checkpoint. */
  finetune: TaskTraining;
  /** Share of replay windows in the replay methods' streams (the rest is domain B). */
  replayRatio: number;
  /** Test tokens scored on A and on B; windows per group (each group is one point of the interval). */
  evalTokens: number;
  evalBatch: number;
  /** How the fine-tuning budget was chosen. */
  budget: string;
}

export const FORGETTING_SETTINGS: Record<string, ForgettingSettings> = {
  tiny: {
    tree: { prompts: 2, promptBytes: 4, branching: [2, 2], segment: 8, temperature: 1, ngram: 4, threshold: 0.7, batch: 16 },
    bBytes: 1 << 14,
    finetune: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 8 } },
    replayRatio: 0.25,
    evalTokens: 1024,
    evalBatch: 8,
    budget: 'not calibrated: tests only',
  },
  small: {
    tree: { prompts: 8, promptBytes: 4, branching: [4, 4, 2], segment: 40, temperature: 1, ngram: 4, threshold: 0.7, batch: 64 },
    bBytes: 1 << 18,
    finetune: { init: 'text', train: { ...TASK_ADAMW, lr: 1e-3, warmup: 10, batch: 8, steps: 150 } },
    replayRatio: 0.25,
    evalTokens: 16384,
    evalBatch: 16,
    budget: 'not calibrated yet',
  },
};
