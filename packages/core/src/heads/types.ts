import type { BaseModelOutput, TransformerConfig } from '../models/types.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Shared shapes of the prediction heads ("flex heads" of the Python
 * `adapters` library): what a head needs from its model, what it takes in
 * `forward`, and what it returns.
 */

/** Head types, named as in Python's `MODEL_HEAD_MAP` and written to head_config.json. */
export type HeadType =
  | 'classification'
  | 'multilabel_classification'
  | 'tagging'
  | 'multiple_choice'
  | 'question_answering'
  | 'masked_lm'
  | 'causal_lm';

/** Every head type this package implements. */
export const HEAD_TYPES: readonly HeadType[] = [
  'classification',
  'multilabel_classification',
  'tagging',
  'multiple_choice',
  'question_answering',
  'masked_lm',
  'causal_lm',
];

/** What a head reads from the model it sits on (a `BaseModel` satisfies it). */
export interface HeadHost {
  /** Sizes (`hiddenSize`, `vocabSize`) and the raw config.json (dropout, init range, eps, tying). */
  readonly config: TransformerConfig;
  /** The input embedding matrix [vocab, hidden]; LM heads tie their decoder to it. */
  inputEmbeddings?(): Tensor;
}

/** Options every head constructor takes besides its config. */
export interface HeadBuildOptions {
  /** Parameter dtype (default f32). */
  dtype?: DType;
}

/** Per-call inputs of a head besides the base model outputs. */
export interface HeadInputs {
  /**
   * Targets. Classification: class ids [batch] (i32), or values [batch] when
   * num_labels is 1 (regression), or 0/1 [batch, numLabels] (multi-label).
   * Tagging: [batch, seq] (i32, -100 ignored). Multiple choice: [batch].
   * LM heads: token ids [batch, seq] (-100 ignored; causal LM shifts them).
   */
  labels?: Tensor;
  /** QA targets [batch] (i32): answer start and end token positions. */
  startPositions?: Tensor;
  endPositions?: Tensor;
  /** [batch, seq], 1 for tokens that count: the tagging loss ignores the others (as Python). */
  attentionMask?: Tensor;
  /**
   * The sequence representation for classification-style heads, when the
   * model computes it itself (decoder models use the last non-padding token).
   * Default: the first token of the last hidden state, or the pooled output
   * when the head has `use_pooler`.
   */
  clsOutput?: Tensor;
  /**
   * Applied to the hidden states just before an LM head's output embedding
   * (where Python runs an invertible adapter in reverse).
   */
  beforeOutputEmbedding?: (x: Tensor) => Tensor;
  /**
   * Prompt positions the base model inserted in front of the sequence
   * (prompt tuning; Python's `prompt_tokens_length` kwarg). Logits keep
   * them (their sequence axis is this much longer than the input), as in
   * Python; tagging and LM heads prepend this many ignored labels (-100)
   * — and the tagging head this many ones to `attentionMask` — so the loss
   * skips the prompt positions and input labels line up with input tokens.
   */
  promptTokensLength?: number;
}

/** What a head returns. Tensors are new (the caller disposes them or runs inside `tidy`). */
export interface HeadOutput {
  /**
   * Classification [batch, numLabels]; tagging [batch, seq, numLabels];
   * multiple choice [batch, numChoices]; QA [batch, seq, 2] (start, end);
   * LM heads [batch, seq, vocab].
   */
  logits: Tensor;
  /** Scalar loss when targets were given. */
  loss?: Tensor;
  /** QA only: [batch, seq]. */
  startLogits?: Tensor;
  /** QA only: [batch, seq]. */
  endLogits?: Tensor;
}

/** The call signature every head implements. */
export interface HeadForward {
  forward(outputs: BaseModelOutput, inputs?: HeadInputs): HeadOutput;
}
