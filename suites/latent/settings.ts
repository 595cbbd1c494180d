// The latent suite's settings per preset (plain data, recorded in the manifest).
import type { TokenizerSettings } from './tokenizers.ts';
import type { SpeechSettings } from './speech/data.ts';
import type { ClassifierSettings, GenerationSettings } from './units.ts';

export interface LatentSettings extends GenerationSettings {
  /** Glyph side S (pixels) and sample counts. */
  size: number;
  trainImages: number;
  testImages: number;
  classifier: ClassifierSettings;
  /** Generated samples per method (classes cycled). */
  samples: number;
  /** Generated glyphs per class kept for the report's grid. */
  gridPerClass: number;
  /** The speech half (espeak-ng words as log-mels). */
  speech: SpeechSettings;
}

const TOKENIZER: TokenizerSettings = {
  patch: 4, latent: 4, hidden: 64, steps: 300, batch: 64, lr: 3e-3,
  sigmaScale: 0.5, betaMu: 0.01, betaKl: 0.05, codes: 64, betaCommit: 0.25,
};

// espeak-ng writes 22050 Hz; 23 ms Hann windows every 11.6 ms, 32 mel bands up to 8 kHz, 64 frames (0.74 s)
const MEL = { sampleRate: 22050, window: 512, hop: 256, mels: 32, frames: 64, fmax: 8000 };
const VOICES = ['en', 'en+f3', 'en-us', 'en-us+m7'];

const SPEECH: SpeechSettings = {
  voices: VOICES, words: 8, trainPerClass: 12, testPerClass: 3, mel: MEL,
  // 4 frames per token: 16 tokens of 128 values, each to 8 latent dimensions
  tokenizer: { ...TOKENIZER, patch: 4, latent: 8, hidden: 128 },
  recognizer: { context: 2, hidden: 128, features: 64, steps: 400, batch: 256, lr: 2e-3 },
  speaker: { hidden: 64, features: 16, steps: 300, batch: 64, lr: 2e-3 },
  generator: { headWidth: 64, headBlocks: 2, repeats: 4, cfgDrop: 0.1 },
  train: { steps: 300, batch: 32, lr: 1e-3 },
  samplesPerClass: 2, diffusionSteps: [10, 50], guidance: 2, cepstra: 12, griffinLim: 32,
};

export const LATENT_SETTINGS: Record<string, LatentSettings> = {
  tiny: {
    size: 16, trainImages: 1000, testImages: 200,
    tokenizer: { ...TOKENIZER, steps: 150 },
    classifier: { hidden: 64, features: 16, steps: 150, batch: 64, lr: 3e-3 },
    generator: { headWidth: 32, headBlocks: 1, repeats: 2, cfgDrop: 0.1 },
    train: { steps: 40, batch: 16, lr: 2e-3 },
    samples: 40, diffusionSteps: [4, 16], guidance: 2, gridPerClass: 2,
    speech: {
      ...SPEECH, words: 3, trainPerClass: 4, testPerClass: 1,
      tokenizer: { ...SPEECH.tokenizer, steps: 150 },
      recognizer: { ...SPEECH.recognizer, steps: 150 },
      speaker: { ...SPEECH.speaker, steps: 150 },
      generator: { headWidth: 32, headBlocks: 1, repeats: 2, cfgDrop: 0.1 },
      train: { steps: 40, batch: 16, lr: 2e-3 },
      samplesPerClass: 1, diffusionSteps: [4, 16], griffinLim: 16,
    },
  },
  small: {
    size: 16, trainImages: 4000, testImages: 500,
    tokenizer: TOKENIZER,
    classifier: { hidden: 128, features: 32, steps: 400, batch: 64, lr: 2e-3 },
    generator: { headWidth: 64, headBlocks: 2, repeats: 4, cfgDrop: 0.1 },
    train: { steps: 300, batch: 32, lr: 1e-3 },
    samples: 200, diffusionSteps: [10, 50], guidance: 2, gridPerClass: 4,
    speech: SPEECH,
  },
};
// Not sized for a GPU yet: smoke and paper run small's latent settings (the manifest records them as such).
LATENT_SETTINGS.smoke = LATENT_SETTINGS.small!;
LATENT_SETTINGS.paper = LATENT_SETTINGS.small!;
