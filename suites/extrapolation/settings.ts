// The extrapolation suite's settings per preset (plain data; the manifest records them).

export interface ExtrapolationSettings {
  /** Evaluation lengths as multiples of T. */
  multiples: number[];
  /** Test regions of the longest length scored at every length (tokens per length = regions x longest). */
  regions: number;
  /** Tokens per forward batch (windows per batch = max(1, batchTokens / L)). */
  batchTokens: number;
  /** Skip a full-forward length whose attention logits (heads x L^2 x 4 B per sequence) exceed this. */
  maxScoreBytes: number;
  /** Windows per length used for attention resolution (first of each region). */
  resolutionWindows: number;
}

export const EXTRAPOLATION_SETTINGS: Record<string, ExtrapolationSettings> = {
  tiny: { multiples: [1, 2, 4], regions: 2, batchTokens: 256, maxScoreBytes: 1 << 28, resolutionWindows: 1 },
  small: { multiples: [1, 2, 4, 8, 16], regions: 3, batchTokens: 2048, maxScoreBytes: 1 << 30, resolutionWindows: 1 },
  // paper: a [1,12,L,L] fp32 score tensor at L = 8192 is 3.2 GB, over WebGPU's 2 GiB binding limit: scores up to 1 GiB
  paper: { multiples: [1, 2, 4, 8, 16], regions: 4, batchTokens: 8192, maxScoreBytes: 1 << 30, resolutionWindows: 2 },
  smoke: { multiples: [1, 2, 4], regions: 2, batchTokens: 2048, maxScoreBytes: 1 << 28, resolutionWindows: 1 },
};
