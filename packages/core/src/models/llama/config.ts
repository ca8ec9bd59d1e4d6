import type { TransformerConfig } from '../types.js';

/**
 * How rotary position embeddings pair up the features of a head:
 * - 'rotate-half': feature i rotates with feature i + headDim/2 (Hugging Face
 *   `rotate_half`, which HF checkpoints' q/k weights are permuted for);
 * - 'interleaved': feature 2i rotates with 2i + 1 (Meta's original weights,
 *   llama2.c and GGUF files as stored).
 * The two give identical outputs when the q/k projection rows are permuted
 * accordingly (see `permuteRotaryRows`).
 */
export type RopeLayout = 'rotate-half' | 'interleaved';

/** A parsed Llama/Mistral config.json (camelCase), with the raw object kept. */
export interface LlamaConfig extends TransformerConfig {
  modelType: 'llama' | 'mistral';
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  hiddenAct: 'silu';
  attentionBias: boolean;
  mlpBias: boolean;
  /** Mistral's sliding attention window in tokens; null = full causal attention. */
  slidingWindow: number | null;
  /** Std of the normal init of fresh weights (HF `initializer_range`). */
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
  /** Rotary pairing the q/k weights expect; not an HF field (HF is always 'rotate-half'). */
  ropeLayout: RopeLayout;
}

/** Options of `parseLlamaConfig` that are not part of config.json. */
export interface ParseLlamaConfigOptions {
  /** Default 'rotate-half' (HF checkpoints). */
  ropeLayout?: RopeLayout;
}

const MODEL_TYPES = ['llama', 'mistral'] as const;

function fail(field: string, detail: string): never {
  throw new Error(`Llama config: field '${field}' ${detail}`);
}

function intField(raw: Record<string, unknown>, field: string, fallback?: number): number {
  const v = raw[field];
  if (v === undefined || v === null) {
    if (fallback === undefined) fail(field, 'is required');
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function numField(raw: Record<string, unknown>, field: string, fallback: number): number {
  const v = raw[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function boolField(raw: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = raw[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(field, `must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function tokenId(raw: Record<string, unknown>, field: string): number | null {
  const v = raw[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `must be an integer or null, got ${JSON.stringify(v)}`);
  return v;
}

function eosIds(raw: Record<string, unknown>): number | number[] | null {
  const v = raw['eos_token_id'];
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'number' && Number.isInteger(x))) fail('eos_token_id', `must be an integer, a list of integers or null, got ${JSON.stringify(v)}`);
    return v as number[];
  }
  return tokenId(raw, 'eos_token_id');
}

/**
 * The rotary base. transformers 4 writes `rope_theta` (+ `rope_scaling`),
 * transformers 5 `rope_parameters: { rope_theta, rope_type }`; only the
 * unscaled ('default') rotary embedding is implemented.
 */
function parseRope(raw: Record<string, unknown>): number {
  for (const field of ['rope_scaling', 'rope_parameters']) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) fail(field, `must be an object or null, got ${JSON.stringify(v)}`);
    const o = v as Record<string, unknown>;
    const type = o['rope_type'] ?? o['type'] ?? 'default';
    if (type !== 'default') fail(field, `rope type ${JSON.stringify(type)} is not supported (only unscaled 'default' rotary embeddings): ${JSON.stringify(v)}`);
  }
  const params = raw['rope_parameters'] as Record<string, unknown> | undefined | null;
  if (params && params['rope_theta'] !== undefined) return numField(params, 'rope_theta', 10000);
  return numField(raw, 'rope_theta', 10000);
}

/**
 * Parses and validates a Llama or Mistral config.json. Defaults follow HF's
 * LlamaConfig/MistralConfig: num_key_value_heads = num_attention_heads,
 * head_dim = hidden_size / num_attention_heads, rope_theta 10000,
 * rms_norm_eps 1e-6, hidden_act 'silu'. Features this implementation lacks
 * (rope_scaling, other activations) are errors naming the field.
 */
export function parseLlamaConfig(raw: Record<string, unknown>, opts: ParseLlamaConfigOptions = {}): LlamaConfig {
  const modelType = raw['model_type'];
  if (typeof modelType !== 'string' || !(MODEL_TYPES as readonly string[]).includes(modelType)) {
    fail('model_type', `must be one of ${MODEL_TYPES.join(', ')}, got ${JSON.stringify(modelType)}`);
  }
  const isMistral = modelType === 'mistral';
  const hiddenSize = intField(raw, 'hidden_size', isMistral ? 4096 : undefined);
  const numAttentionHeads = intField(raw, 'num_attention_heads');
  const numKeyValueHeads = intField(raw, 'num_key_value_heads', numAttentionHeads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    fail('num_key_value_heads', `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`);
  }
  if (raw['head_dim'] === undefined && hiddenSize % numAttentionHeads !== 0) {
    fail('hidden_size', `(${hiddenSize}) must be divisible by num_attention_heads (${numAttentionHeads}) when head_dim is absent`);
  }
  const headDim = intField(raw, 'head_dim', hiddenSize / numAttentionHeads);
  if (headDim % 2 !== 0) fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);

  const act = raw['hidden_act'] ?? 'silu';
  if (act !== 'silu') fail('hidden_act', `'${String(act)}' is not supported (only 'silu')`);
  const ropeTheta = parseRope(raw);
  const ropeLayout = opts.ropeLayout ?? 'rotate-half';
  if (ropeLayout !== 'rotate-half' && ropeLayout !== 'interleaved') throw new Error(`Llama config: unknown ropeLayout '${String(ropeLayout)}' (valid: rotate-half, interleaved)`);

  let slidingWindow: number | null = null;
  if (isMistral && raw['sliding_window'] !== undefined && raw['sliding_window'] !== null) slidingWindow = intField(raw, 'sliding_window');
  // Llama configs may carry `sliding_window` only as an unused leftover; HF Llama ignores it, so do we.

  return {
    modelType: modelType as 'llama' | 'mistral',
    vocabSize: intField(raw, 'vocab_size', isMistral ? 32000 : undefined),
    hiddenSize,
    numHiddenLayers: intField(raw, 'num_hidden_layers'),
    numAttentionHeads,
    intermediateSize: intField(raw, 'intermediate_size'),
    numKeyValueHeads,
    headDim,
    rmsNormEps: numField(raw, 'rms_norm_eps', isMistral ? 1e-6 : 1e-6),
    ropeTheta,
    maxPositionEmbeddings: intField(raw, 'max_position_embeddings', isMistral ? 4096 * 32 : 2048),
    tieWordEmbeddings: boolField(raw, 'tie_word_embeddings', false),
    hiddenAct: 'silu',
    attentionBias: boolField(raw, 'attention_bias', false),
    mlpBias: boolField(raw, 'mlp_bias', false),
    slidingWindow,
    initializerRange: numField(raw, 'initializer_range', 0.02),
    bosTokenId: tokenId(raw, 'bos_token_id'),
    eosTokenId: eosIds(raw),
    padTokenId: tokenId(raw, 'pad_token_id'),
    ropeLayout,
    raw,
  };
}
