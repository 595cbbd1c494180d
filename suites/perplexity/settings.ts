// The perplexity suite's settings per preset (plain data; the manifest records them).

export interface PerplexitySettings {
  /** Test windows (of T+1 tokens) whose per-layer activations give the outlier statistics: one forward batch. */
  probeWindows: number;
  /** Test windows scored at full precision and under each activation quantization (the same windows for all). */
  quantWindows: number;
  /** Activation quantization widths (bits, per-tensor symmetric, round to nearest). */
  bits: number[];
}

export const PERPLEXITY_SETTINGS: Record<string, PerplexitySettings> = {
  tiny: { probeWindows: 8, quantWindows: 32, bits: [8, 6, 4] },
  // a quarter of the 65,536 test tokens (4 x 16,384 tokens scored: the cost of the main evaluation again)
  small: { probeWindows: 16, quantWindows: 128, bits: [8, 6, 4] },
  paper: { probeWindows: 4, quantWindows: 32, bits: [8, 6, 4] },
  smoke: { probeWindows: 16, quantWindows: 32, bits: [8, 6, 4] },
};
