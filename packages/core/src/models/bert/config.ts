import type { TransformerConfig } from '../types.js';

/** config.json `model_type` values served by the BERT family implementation. */
export const BERT_MODEL_TYPES = ['bert', 'roberta', 'xlm-roberta'] as const;

/** One of `BERT_MODEL_TYPES`. */
export type BertModelType = (typeof BERT_MODEL_TYPES)[number];

/** Activations the BERT family may name in `hidden_act`, by HF name. */
export type BertActivation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu' | 'silu' | 'swish';

const ACTIVATIONS: readonly BertActivation[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu', 'swish'];

/**
 * Parsed config of a BERT / RoBERTa / XLM-RoBERTa encoder (camelCase of the
 * HF fields). RoBERTa and XLM-R differ from BERT only in how position ids are
 * derived (from the padding, offset by `padTokenId`), which `positionIdsFromPadding` says.
 */
export interface BertConfig extends TransformerConfig {
  modelType: BertModelType;
  hiddenAct: BertActivation;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** Padding token id (null: BERT configs may have none; RoBERTa/XLM-R need one). */
  padTokenId: number | null;
  /** Std of the normal init of linear and embedding weights (HF `initializer_range`). */
  initializerRange: number;
  /** Only 'absolute' is supported. */
  positionEmbeddingType: 'absolute';
  /** RoBERTa/XLM-R: position ids count real tokens from `padTokenId + 1`; BERT: 0, 1, 2, … */
  positionIdsFromPadding: boolean;
}

/**
 * HF class defaults for fields a config.json may omit. The sizes of the
 * network (vocab, hidden, layers, heads, intermediate) have no default here:
 * a config without them is more likely wrong than meant.
 */
const DEFAULTS = {
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  position_embedding_type: 'absolute',
} as const;

/** BertConfig's pad_token_id default is 0; RobertaConfig's and XLMRobertaConfig's is 1. */
const DEFAULT_PAD: Record<BertModelType, number> = { bert: 0, roberta: 1, 'xlm-roberta': 1 };

function fail(modelType: string, field: string, detail: string): never {
  throw new Error(`${modelType} config.json: field '${field}' ${detail}`);
}

function positiveInt(raw: Record<string, unknown>, mt: string, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (v === undefined || v === null) fail(mt, field, 'is missing');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(mt, field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function probability(raw: Record<string, unknown>, mt: string, field: string, fallback: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail(mt, field, `must be a number in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(raw: Record<string, unknown>, mt: string, field: string, fallback: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(mt, field, `must be a positive finite number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Parses and validates a BERT-family config.json object. Missing size fields
 * and invalid values are errors naming the field; other fields fall back to
 * the HF class defaults. Decoder use (`is_decoder`, `add_cross_attention`)
 * and relative position embeddings are rejected, since this encoder does not
 * implement them.
 */
export function parseBertConfig(raw: Record<string, unknown>): BertConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('BERT config: expected the parsed config.json object');
  const mt = raw.model_type;
  if (typeof mt !== 'string' || !(BERT_MODEL_TYPES as readonly string[]).includes(mt)) {
    throw new Error(`BERT config.json: field 'model_type' must be one of ${BERT_MODEL_TYPES.join(', ')}, got ${JSON.stringify(mt)}`);
  }
  const modelType = mt as BertModelType;

  const hiddenSize = positiveInt(raw, mt, 'hidden_size');
  const numAttentionHeads = positiveInt(raw, mt, 'num_attention_heads');
  if (hiddenSize % numAttentionHeads !== 0) {
    fail(mt, 'num_attention_heads', `(${numAttentionHeads}) must divide hidden_size (${hiddenSize})`);
  }

  const act = raw.hidden_act ?? DEFAULTS.hidden_act;
  if (typeof act !== 'string' || !(ACTIVATIONS as readonly string[]).includes(act)) {
    fail(mt, 'hidden_act', `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(act)}`);
  }

  const posType = raw.position_embedding_type ?? DEFAULTS.position_embedding_type;
  if (posType !== 'absolute') {
    fail(mt, 'position_embedding_type', `must be 'absolute' (relative position embeddings are not implemented), got ${JSON.stringify(posType)}`);
  }
  for (const flag of ['is_decoder', 'add_cross_attention'] as const) {
    if (raw[flag] === true) fail(mt, flag, 'is true, but only the bidirectional encoder is implemented');
  }

  const positionIdsFromPadding = modelType !== 'bert';
  // An explicit null means "no padding row" (HF: padding_idx=None); RoBERTa's positions need a real one.
  const padRaw = raw.pad_token_id === null && !positionIdsFromPadding ? null : (raw.pad_token_id ?? DEFAULT_PAD[modelType]);
  if (padRaw !== null && (typeof padRaw !== 'number' || !Number.isInteger(padRaw) || padRaw < 0)) {
    fail(mt, 'pad_token_id', `must be a non-negative integer${positionIdsFromPadding ? ' (position ids are counted from it)' : ''}, got ${JSON.stringify(padRaw)}`);
  }
  const vocabSize = positiveInt(raw, mt, 'vocab_size');
  if (padRaw !== null && padRaw >= vocabSize) fail(mt, 'pad_token_id', `(${padRaw}) must be below vocab_size (${vocabSize})`);

  const maxPositionEmbeddings = positiveInt(raw, mt, 'max_position_embeddings', DEFAULTS.max_position_embeddings);
  if (positionIdsFromPadding && padRaw !== null && padRaw + 1 >= maxPositionEmbeddings) {
    fail(mt, 'max_position_embeddings', `(${maxPositionEmbeddings}) leaves no positions after the padding offset pad_token_id + 1 = ${padRaw + 1}`);
  }

  return {
    modelType,
    vocabSize,
    hiddenSize,
    numHiddenLayers: positiveInt(raw, mt, 'num_hidden_layers'),
    numAttentionHeads,
    intermediateSize: positiveInt(raw, mt, 'intermediate_size'),
    hiddenAct: act as BertActivation,
    hiddenDropoutProb: probability(raw, mt, 'hidden_dropout_prob', DEFAULTS.hidden_dropout_prob),
    attentionProbsDropoutProb: probability(raw, mt, 'attention_probs_dropout_prob', DEFAULTS.attention_probs_dropout_prob),
    maxPositionEmbeddings,
    typeVocabSize: positiveInt(raw, mt, 'type_vocab_size', DEFAULTS.type_vocab_size),
    layerNormEps: positiveNumber(raw, mt, 'layer_norm_eps', DEFAULTS.layer_norm_eps),
    padTokenId: padRaw,
    initializerRange: positiveNumber(raw, mt, 'initializer_range', DEFAULTS.initializer_range),
    positionEmbeddingType: 'absolute',
    positionIdsFromPadding,
    raw,
  };
}
