// The latent suite's settings per preset (plain data, recorded in the manifest).
import type { TokenizerSettings } from './tokenizers.ts';
import type { GeneratorSettings } from './generator.ts';

export interface LatentSettings {
  /** Glyph side S (pixels) and sample counts. */
  size: number;
  trainImages: number;
  testImages: number;
  tokenizer: TokenizerSettings;
  classifier: { hidden: number; features: number; steps: number; batch: number; lr: number };
  generator: GeneratorSettings;
  /** Backbone + head training: Adam, `steps` of `batch` images. */
  train: { steps: number; batch: number; lr: number };
  /** Generated samples per method (classes cycled), the diffusion steps evaluated, the guidance weight. */
  samples: number;
  diffusionSteps: number[];
  guidance: number;
  /** Generated glyphs per class kept for the report's grid. */
  gridPerClass: number;
}

const TOKENIZER: TokenizerSettings = {
  patch: 4, latent: 4, hidden: 64, steps: 300, batch: 64, lr: 3e-3,
  sigmaScale: 0.5, betaMu: 0.01, betaKl: 0.05, codes: 64, betaCommit: 0.25,
};

export const LATENT_SETTINGS: Record<string, LatentSettings> = {
  tiny: {
    size: 16, trainImages: 1000, testImages: 200,
    tokenizer: { ...TOKENIZER, steps: 150 },
    classifier: { hidden: 64, features: 16, steps: 150, batch: 64, lr: 3e-3 },
    generator: { headWidth: 32, headBlocks: 1, repeats: 2, cfgDrop: 0.1 },
    train: { steps: 40, batch: 16, lr: 2e-3 },
    samples: 40, diffusionSteps: [4, 16], guidance: 2, gridPerClass: 2,
  },
  small: {
    size: 16, trainImages: 4000, testImages: 500,
    tokenizer: TOKENIZER,
    classifier: { hidden: 128, features: 32, steps: 400, batch: 64, lr: 2e-3 },
    generator: { headWidth: 64, headBlocks: 2, repeats: 4, cfgDrop: 0.1 },
    train: { steps: 300, batch: 32, lr: 1e-3 },
    samples: 200, diffusionSteps: [10, 50], guidance: 2, gridPerClass: 4,
  },
};
// Not sized for a GPU yet: smoke and paper run small's latent settings (the manifest records them as such).
LATENT_SETTINGS.smoke = LATENT_SETTINGS.small!;
LATENT_SETTINGS.paper = LATENT_SETTINGS.small!;
