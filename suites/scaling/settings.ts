// The scaling suite's settings per preset (plain data; the manifest records them). An L-shaped grid:
// every width at the largest budget (loss against parameters) and the largest width at every budget
// (loss against tokens), so each axis has three points and an interval.

export interface ScalingSettings {
  /** Model widths d (layers, heads, vocabulary and context as the preset's); the last is the preset's own. */
  widths: number[];
  /** Training steps (batch and context as the preset's); the last is the largest budget. */
  steps: number[];
  /** Warm-up steps (capped at a tenth of each run). */
  warmup: number;
  /** Test tokens scored per model. */
  evalTokens: number;
}

export const SCALING_SETTINGS: Record<string, ScalingSettings> = {
  tiny: { widths: [16, 24, 32], steps: [10, 20, 30], warmup: 5, evalTokens: 2048 },
  // not yet timed against the 30 minutes for the suite on 2 cores: 5 models per architecture,
  // about the training cost of one small text model each (widths 48 and 80 are cheaper than 128)
  small: { widths: [48, 80, 128], steps: [100, 200, 400], warmup: 20, evalTokens: 16384 },
  paper: { widths: [256, 512, 768], steps: [50, 100, 200], warmup: 10, evalTokens: 65536 },
  smoke: { widths: [48, 80, 128], steps: [25, 50, 100], warmup: 5, evalTokens: 8192 },
};
