// The contract between architectures and the harness. Suites reach a model only through LanguageModel.
import type * as tf from '@tensorflow/tfjs';
import type { Params } from './layers.ts';

/** A model's named trainable parameters, as the harness and suites see them (architectures build into Params). */
export interface ParamStore {
  /** Every variable under its stable name; names key checkpoints and the trainer's flat layout. */
  readonly vars: ReadonlyMap<string, tf.Variable>;
  get(name: string): tf.Variable;
  count(): { total: number; nonEmbedding: number };
  dispose(): void;
}

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
  /** Offers LanguageModel.activations (per-layer activations, forward with transformed hidden states). */
  activations?: boolean;
  /** Accepts continuous inputs: forwardHidden (embeddings in, final-normed hidden states out). */
  continuousInput?: boolean;
}

/** One layer's activations in the parallel forward (activation probes). */
export interface LayerActivations {
  /** The residual stream after the layer (what the next layer reads), [B, T, D]. */
  hidden: tf.Tensor3D;
  /** The sequence mixer's output before the residual add, [B, T, D]. */
  mixer: tf.Tensor3D;
  /** Pre-softmax attention logits [B, H, T, T] as forward computes them (above the diagonal unspecified); null where the mixer has none (retention, cross-attention). */
  logits: tf.Tensor4D | null;
}

/** Reading and perturbing activations, present exactly when capabilities.activations is declared. */
export interface ActivationProbe {
  /** Every layer's activations for tokens [B, T], in depth order. */
  layers(tokens: tf.Tensor2D): LayerActivations[];
  /** forward(tokens) with `transform` applied to each layer's output hidden state before anything reads it (e.g. quantization). */
  forward(tokens: tf.Tensor2D, transform: (hidden: tf.Tensor3D, layer: number) => tf.Tensor3D): tf.Tensor3D;
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
  readonly params: ParamStore;
  readonly capabilities: Capabilities;
  /** Parallel form: tokens [B, T] (int32) -> logits [B, T, V]. */
  forward(tokens: tf.Tensor2D): tf.Tensor3D;
  /** The real inference path: consume a prompt, return logits (all positions or the last) and the cache. */
  prefill(tokens: tf.Tensor2D, opts?: { allLogits?: boolean }): { logits: tf.Tensor3D; state: DecodeState };
  /** One token per sequence, token [B] -> logits [B, V] and the next state. Never reuses the old state's tensors. */
  step(state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState };
  /**
   * Optional, where capabilities.continuousInput holds: the backbone on embeddings x [B, T, D] in place of
   * the token lookup -> the final-normed hidden states [B, T, D] the output head would read (causal, as
   * forward). Lets suites model sequences of continuous vectors (latent generation) with any architecture.
   */
  forwardHidden?(x: tf.Tensor3D): tf.Tensor3D;
  /** Optional: evaluate beyond the training length in the architecture's own inference convention. */
  forwardLong?(tokens: tf.Tensor2D): tf.Tensor3D;
  /** Description of forwardLong's convention, recorded beside extrapolation figures. */
  readonly longConvention?: string;
  /**
   * Optional, for attention resolution (LeX): the pre-softmax attention logits of layer `layer` (0-based)
   * for tokens [B, T], shape [B, H, T, T] (query x key), with the model's own position scheme and scale as
   * its inference computes them at length T (forwardLong's convention where there is one); keys a query
   * does not see there are -Infinity; entries above the diagonal are unspecified. Only where
   * capabilities.attentionMaps holds.
   */
  attentionScores?(tokens: tf.Tensor2D, layer: number): tf.Tensor4D;
  /** Optional activation probes (outlier statistics, activation quantization); see ActivationProbe. */
  readonly activations?: ActivationProbe;
  /** Model FLOPs per trained token at context T (forward + backward), peer-script convention. */
  flopsPerToken(seq: number): number;
  /**
   * Optional analytic size of the decoding state after `context` tokens at batch `batch`: the bytes the
   * tensors in DecodeState should hold (each distinct buffer once, float32 = 4 bytes), and the formula in
   * words with its numbers (e.g. 'layers 4 x 2 x T 256 x d_kv 128 x 4 B x batch 1'). The efficiency suite
   * records it beside the bytes it counts from the state's tensors; without it, no analytic check is made.
   */
  analyticStateBytes?(context: number, batch: number): { bytes: number; formula: string };
  /**
   * Optional structured prompting (Hao et al. 2022), present exactly when capabilities.structuredPrompting
   * is declared: demonstration groups encoded independently, right-aligned, then test tokens that attend to
   * every group and to themselves with ln M added to their own keys' logits. See architectures/structured.ts.
   */
  readonly structured?: StructuredPrompting;
}

/** Demonstration groups encoded independently (each layer's caches merged); opaque to suites. */
export interface StructuredContext {
  /** Number of groups M. */
  groups: number;
  /** Absolute position where every group ends and the test input starts. */
  end: number;
  layers: LayerState[];
}

export interface StructuredPrompting {
  /**
   * Encode groups [B, len_i] (B shared) independently, group i at positions end - len_i .. end - 1
   * (right-aligned; `end` defaults to the longest group's length). Groups encoded at B = 1 may be
   * followed by test tokens at any batch size (the context is shared).
   */
  encodeGroups(groups: tf.Tensor2D[], end?: number): StructuredContext;
  /** Test tokens [B, T] at positions end..: logits (last position unless allLogits) and the state for step. */
  prefill(ctx: StructuredContext, tokens: tf.Tensor2D, opts?: { allLogits?: boolean }): { logits: tf.Tensor3D; state: DecodeState };
  /** One more test token per sequence (greedy decoding of multi-token answers). */
  step(state: DecodeState, token: tf.Tensor1D): { logits: tf.Tensor2D; state: DecodeState };
}

/** How an architecture registers itself. */
export interface ArchitectureSpec {
  name: string;
  description: string;
  paper: string;
  /**
   * Set on an ablation row: the registered architecture it varies (one config choice changed, named in
   * `ablation`). Ablations run when named (or when a paper's reproduction needs them), never by default.
   */
  ablationOf?: string;
  /** What the ablation changes, in words (shown beside its records). */
  ablation?: string;
  /** Derive this architecture's config from the preset's target size (paper conventions applied). */
  configure(size: SizeSpec, overrides?: Record<string, number | string | boolean>): ModelConfig;
  /** Create the model's parameters in `params` (seeded; or dry, to count them) and return the model. */
  build(config: ModelConfig, params: Params): LanguageModel;
}
