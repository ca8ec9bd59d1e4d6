import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Shared shapes between base models, heads and the Auto loader. A base model
 * (BertModel, LlamaModel) maps token ids to hidden states; heads turn hidden
 * states into task outputs.
 */

/** Inputs of a base model forward pass. All index tensors are i32. */
export interface ModelInputs {
  /** Token ids [batch, seq]. */
  inputIds: Tensor;
  /** 1 for real tokens, 0 for padding [batch, seq] (i32, u8 or float). */
  attentionMask?: Tensor;
  /** Segment ids [batch, seq] (BERT family). */
  tokenTypeIds?: Tensor;
  /** Explicit position ids [batch, seq]; derived from the mask/padding when absent. */
  positionIds?: Tensor;
  /** Also return the hidden states after the embeddings and after every layer. */
  outputHiddenStates?: boolean;
  /** Decoder cache for incremental generation (causal models). */
  cache?: KVCache;
}

/** Outputs of a base model forward pass. */
export interface BaseModelOutput {
  /** [batch, seq, hidden] after the last layer (and final norm for Llama). */
  lastHiddenState: Tensor;
  /** Embeddings output then each layer's output, when requested: numLayers + 1 tensors. */
  hiddenStates?: Tensor[];
  /** BERT pooler output [batch, hidden] (tanh(dense(CLS))), when the model has a pooler. */
  pooledOutput?: Tensor;
  /**
   * Prompt positions the pass inserted (prompt tuning; Python's
   * `prompt_tokens_length` in the forward context). The sequence axis of
   * `lastHiddenState` is then this much longer than the input; token-level
   * heads pad their labels (and mask) with it at the front, as Python.
   */
  promptTokensLength?: number;
}

/**
 * Per-layer key/value cache for generation. Keys and values are stored as
 * [batch, numKvHeads, cachedLen, headDim]; `append` returns the full tensors
 * to attend over and takes ownership of the new ones.
 */
export interface KVCache {
  /** Number of tokens already cached. */
  readonly length: number;
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor };
  dispose(): void;
}

/** What every base transformer exposes to heads, adapters and the Auto loader. */
export interface BaseModel extends Module {
  /** The parsed config (HF field names kept in `raw`). */
  readonly config: TransformerConfig;
  forward(inputs: ModelInputs): BaseModelOutput;
  /** The input embedding matrix [vocab, hidden] (tied LM heads use it). */
  inputEmbeddings(): Tensor;
}

/** Fields every architecture's config provides (camelCase), plus the raw config.json. */
export interface TransformerConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** The untouched config.json object (HF snake_case). */
  raw: Record<string, unknown>;
}
