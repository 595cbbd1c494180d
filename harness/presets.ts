// Presets: plain data. Every architecture in a preset gets identical data, budget, optimizer and seeds.
import type { SizeSpec } from '../architectures/interface.ts';

export interface TrainConfig {
  batch: number;
  steps: number;
  lr: number;
  warmup: number;
  /** Cosine decays to lr * minLrFrac. */
  minLrFrac: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clip: number;
}

export interface Preset {
  name: string;
  description: string;
  size: SizeSpec;
  train: TrainConfig;
  /** Test-split tokens scored by perplexity-type suites. */
  evalTokens: number;
  /** Evaluation batch (windows per forward). */
  evalBatch: number;
}

const adamw = { lr: 3e-3, minLrFrac: 0.1, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0 };

export const PRESETS: Record<string, Preset> = {
  tiny: {
    name: 'tiny',
    description: 'tests and CI on 2 CPU cores: seconds per architecture',
    size: { vocab: 256, d: 32, layers: 2, heads: 2, seq: 32 },
    train: { ...adamw, batch: 4, steps: 30, warmup: 5 },
    evalTokens: 4096,
    evalBatch: 8,
  },
  small: {
    name: 'small',
    description: 'default: one-command reproduction on a laptop-class CPU (d128, 4 layers, T=128, ~1M tokens)',
    size: { vocab: 256, d: 128, layers: 4, heads: 4, seq: 128 },
    train: { ...adamw, batch: 8, steps: 1000, warmup: 50 },
    evalTokens: 65536,
    evalBatch: 16,
  },
  paper: {
    name: 'paper',
    description: 'GPU runners: the smallest sizes the papers report (d768, 12 layers, T=2048)',
    size: { vocab: 256, d: 768, layers: 12, heads: 12, seq: 2048 },
    train: { ...adamw, lr: 6e-4, batch: 16, steps: 20000, warmup: 1000 },
    evalTokens: 1 << 20,
    evalBatch: 4,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);
