// The contract between architectures and the harness. Suites reach a model only through LanguageModel.
import type * as tf from '@tensorflow/tfjs';
import type { Params } from './layers.ts';

/** Plain-data model configuration. `mixer` holds architecture-specific options. */
export interface ModelConfig {
  arch: string;
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  /** SwiGLU hidden width. */
  ffn: number;
  /** Training context length (some architectures use it at inference, e.g. LeX's block). */
  seq: number;
  mixer: Record<string, number | string | boolean>;
}

/** What the target size of a preset fixes; each architecture derives its ModelConfig from it. */
export interface SizeSpec {
  vocab: number;
  d: number;
  layers: number;
  heads: number;
  seq: number;
}

/** Capabilities are declared, never guessed from the class. */
export interface Capabilities {
  chunkwise?: boolean;
  blockwiseInference?: boolean;
  structuredPrompting?: boolean;
  /** Has softmax attention maps (attention resolution can be measured). */
  attentionMaps?: boolean;
}

/** A layer's decoding state: tensors (KV cache, recurrent state) and numbers. */
export type LayerState = { [key: string]: tf.Tensor | number };

export interface DecodeState {
  /** Tokens consumed so far. */
  pos: number;
  layers: LayerState[];
}

export interface LanguageModel {
  readonly config: ModelConfig;
  readonly params: Params;
  readonly capabilities: Capabilities;
  /** Parallel form: tokens [B, T] (int32) -> logits [B, T, V]. */
  forward(tokens: tf.Tensor2D): tf.Tensor3D;
  /** The real inference path: consume a prompt, return logits (all positions or the last) and the cache. */
  prefill(tokens: tf.Tensor2D, opts?: { allLogits?: boolean }): { logits: tf.Tensor3D; state: DecodeState };
  /** One token per sequence, token [B] -> logits [B, V] and the next state. Never reuses the old state's tensors. */
  step(state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState };
  /** Optional: evaluate beyond the training length in the architecture's own inference convention. */
  forwardLong?(tokens: tf.Tensor2D): tf.Tensor3D;
  /** Description of forwardLong's convention, recorded beside extrapolation figures. */
  readonly longConvention?: string;
  /** Model FLOPs per trained token at context T (forward + backward), peer-script convention. */
  flopsPerToken(seq: number): number;
}

/** How an architecture registers itself. */
export interface ArchitectureSpec {
  name: string;
  description: string;
  paper: string;
  /** Derive this architecture's config from the preset's target size (paper conventions applied). */
  configure(size: SizeSpec, overrides?: Record<string, number | string | boolean>): ModelConfig;
  /** Create the model's parameters in `params` (seeded; or dry, to count them) and return the model. */
  build(config: ModelConfig, params: Params): LanguageModel;
}
