// The selfimprove suite's settings per preset (plain data; the manifest records them).
import { TASK_ADAMW, type TaskTraining } from '../tasks/training.ts';
import type { CrescentSettings } from './crescent.ts';

export interface SelfImproveSettings {
  /** Operand digits of the addition task. */
  digits: number;
  /** The base model: the text checkpoint trained on the text mixture with `taskRate` of addition windows. */
  base: TaskTraining;
  taskRate: number;
  crescent: CrescentSettings;
  /** Fine-tuning on self-generated pairs (the Crescent row and the control row alike). */
  finetune: Partial<TaskTraining['train']> & { steps: number; batch: number };
  /** The distillation row: a scratch model with fewer layers trained on the teacher's voted pairs. */
  distill: TaskTraining;
  /** Held-out test problems, decoded greedily in batches of evalBatch. */
  testSize: number;
  evalBatch: number;
  /** How the base's task budget was chosen. */
  budget: string;
}

export const SELFIMPROVE_SETTINGS: Record<string, SelfImproveSettings> = {
  tiny: {
    digits: 1,
    base: { init: 'text', train: { ...TASK_ADAMW, lr: 5e-3, warmup: 5, batch: 8, steps: 120 } },
    taskRate: 0.8,
    crescent: { bait: '\nQ:', questions: 32, temperature: 0.5, answerTemperature: 0.5, ngram: 2, threshold: 0.6, hiddenThreshold: 0.9, votes: 4, minAgree: 0.5, batch: 64 },
    finetune: { ...TASK_ADAMW, lr: 1e-3, warmup: 2, batch: 4, steps: 6 },
    distill: { init: 'scratch', shape: { layers: 1 }, train: { ...TASK_ADAMW, lr: 3e-3, warmup: 2, batch: 4, steps: 10 } },
    testSize: 64,
    evalBatch: 64,
    budget: 'not calibrated: tests only',
  },
  // the base's task budget: calibrated per seed on the reference Transformer (suites/tasks/training.ts
  // ReferenceBudget), because the skill emerges abruptly at a step that moves with the seed (./calibration.json);
  // a constant lr after warm-up, so the base stopped at a step is the base trained to that budget; a seed whose
  // reference never gets there at batch 8 (seed 2: 13/128 at 1000 steps) tries batch 16 (seed 2: 34/128 at 400)
  // hidden-state de-duplication at cosine 0.9 (not tuned): Transformer seed 0 kept 99 of 246 fresh questions, 97 voted
  small: {
    digits: 2,
    base: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 10, minLrFrac: 1, batch: 8, steps: 1000 }, calibrate: { every: 25, target: 0.3, probe: 128, fallbacks: [{ batch: 16, steps: 800 }] } },
    taskRate: 0.6,
    crescent: { bait: '\nQ:', questions: 256, temperature: 1, answerTemperature: 0.7, ngram: 2, threshold: 0.6, hiddenThreshold: 0.9, votes: 8, minAgree: 0.25, batch: 128 },
    finetune: { ...TASK_ADAMW, lr: 5e-4, warmup: 5, batch: 8, steps: 30 },
    distill: { init: 'scratch', shape: { layers: 2 }, train: { ...TASK_ADAMW, lr: 3e-3, warmup: 10, batch: 8, steps: 100 } },
    testSize: 256,
    evalBatch: 128,
    budget: 'per seed: the reference Transformer trains (batch 8 x 128, task rate 0.6, constant lr 3e-3) until 30% of a 128-problem probe disjoint from the test set is exact, checked every 25 steps, at most 1000; if it reaches the cap without, again from the text checkpoint at batch 16 (twice the task data a step), at most 800 steps; every architecture then trains that recipe and that many steps (a fixed 500 put seed 0 at 37-60% and seed 2 at 6%: the skill emerges abruptly, at a step that moves with the data order)',
  },
  // the smoke preset: small's recipe at fewer steps and questions (not calibrated)
  smoke: {
    digits: 2,
    base: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-3, warmup: 10, minLrFrac: 1, batch: 8, steps: 60 } },
    taskRate: 0.6,
    crescent: { bait: '\nQ:', questions: 128, temperature: 1, answerTemperature: 0.7, ngram: 2, threshold: 0.6, hiddenThreshold: 0.9, votes: 8, minAgree: 0.25, batch: 128 },
    finetune: { ...TASK_ADAMW, lr: 5e-4, warmup: 5, batch: 8, steps: 20 },
    distill: { init: 'scratch', shape: { layers: 2 }, train: { ...TASK_ADAMW, lr: 3e-3, warmup: 10, batch: 8, steps: 60 } },
    testSize: 128,
    evalBatch: 128,
    budget: 'not calibrated',
  },
  // paper: 3-digit addition; base 50 steps x 8 x 2048 = 0.8M tokens from the text checkpoint (not calibrated:
  // the band is checked on the first GPU night); prompts are short, so large decoding batches bind on WebGPU
  paper: {
    digits: 3,
    base: { init: 'text', train: { ...TASK_ADAMW, lr: 3e-4, warmup: 5, batch: 8, steps: 50 } },
    taskRate: 0.2,
    crescent: { bait: '\nQ:', questions: 512, temperature: 1, answerTemperature: 0.7, ngram: 2, threshold: 0.6, hiddenThreshold: 0.9, votes: 8, minAgree: 0.25, batch: 128 },
    finetune: { ...TASK_ADAMW, lr: 1e-4, warmup: 2, batch: 8, steps: 10 },
    distill: { init: 'scratch', shape: { layers: 6 }, train: { ...TASK_ADAMW, lr: 6e-4, warmup: 5, batch: 8, steps: 50 } },
    testSize: 512,
    evalBatch: 128,
    budget: 'not calibrated',
  },
};
