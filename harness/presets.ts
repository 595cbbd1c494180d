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

/** The small preset's shape, which the smoke preset shares. */
const SMALL_SIZE = { vocab: 256, d: 128, layers: 4, heads: 4, seq: 128 };

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
    size: SMALL_SIZE,
    train: { ...adamw, batch: 8, steps: 1000, warmup: 50 },
    evalTokens: 65536,
    evalBatch: 16,
  },
  // One night (8 h) of `reproduce --preset paper` (3 seeds x 6 architectures) on one H200, on webgpu.
  // Rate: a step is 16,384 tokens x ~0.74 GFLOP/token (6 x 85M non-embedding params + 6dV + 12LTd);
  // at the 4.1 TFLOP/s measured for a d768 FFN training step (../shared/gpu/README.md) that is 3.0 s,
  // ~5,500 tokens/s. It holds only if attention runs near the FFN's rate: plain tfjs attention (batched
  // score matmuls at 0.29 TFLOP/s, 256 ms per softmax of [96,2048,2048]) would add ~22 s a step (~650
  // tokens/s) and the night would not fit; the fused WGSL attention (architectures/ops/attention/webgpu.ts)
  // replaces it, and its H200 rate is not measured yet. Budget: text models 200 steps x 16,384 = 3.3M
  // tokens each, 18 of them = 59M tokens = 3.0 h; task models (needle, mqar, icl: 54) at 0.8M tokens each
  // = 44M = 2.2 h (their budgets are in suites/*/settings.ts); efficiency 18 units x 200 s = 1 h;
  // evaluation (perplexity 262,144 tokens a unit, extrapolation, needle and icl decoding) ~1.5 h.
  // Batch 8: at T 2048 with 12 heads a [B,12,2048,2048] fp32 score tensor is B x 201 MB, and WebGPU
  // binds at most 2 GiB (maxStorageBufferBindingSize): batch 16 would not bind.
  paper: {
    name: 'paper',
    description: 'one H200 overnight (3 seeds): the smallest sizes the papers report (d768, 12 layers, T=2048), 3.3M text tokens per model',
    size: { vocab: 256, d: 768, layers: 12, heads: 12, seq: 2048 },
    train: { ...adamw, lr: 6e-4, batch: 8, steps: 200, warmup: 20 },
    evalTokens: 1 << 18,
    evalBatch: 4,
  },
  // Every suite on every architecture in at most 6 minutes on one H200 on webgpu (the nightly's first
  // job and tools/gpu-sitting.sh). The small preset's shape, where a GPU is bound by kernel launches:
  // PyTorch does 51-67k training tokens/s there on the H200 (../shared/gpu/README.md); tfjs-webgpu
  // dispatches each op from JS and runs more of them than PyTorch's fused kernels, so plan on a
  // third, ~20k tokens/s (forward-only evaluation ~3x that). Per architecture: text model 100 steps x 8 x
  // 128 = 102,400 tokens (5 s); needle, mqar and icl task models 60 steps x 8 x 128 = 61,440 tokens each
  // (9 s); evaluation (16,384 perplexity tokens, extrapolation to 4T, a few hundred needle/icl episodes)
  // ~10 s; the efficiency unit's 16 s budget; start-up and shader compilation ~10 s: ~50 s, x 6
  // architectures = 300 s. Not calibrated: its accuracies may sit at the floor (flagged so).
  smoke: {
    name: 'smoke',
    description: 'GPU smoke test: every suite on every architecture in about 5 minutes on one H200 (small\'s shape, 102,400 text tokens per model)',
    size: SMALL_SIZE,
    train: { ...adamw, batch: 8, steps: 100, warmup: 10 },
    evalTokens: 16384,
    evalBatch: 16,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);
