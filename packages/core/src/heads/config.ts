import { HEAD_TYPES, type HeadType } from './types.js';

/**
 * Head configs in the exact form the Python `adapters` library keeps in
 * `head.config` and writes under `"config"` in head_config.json (and under
 * `prediction_heads` in config.json): snake_case keys, `null` for unset.
 * The defaults filled in by `normalizeHeadConfig` are those of the Python
 * head *classes* (heads/base.py, heads/language_modeling.py), which is what
 * Python applies when it rebuilds a head from a saved config; the `add*Head`
 * methods apply the (sometimes different) defaults of `add_*_head`.
 */

/** label → id, as saved by Python. */
export type Label2Id = Record<string, number>;

/** classification and multilabel_classification (`ClassificationHead`, `MultiLabelClassificationHead`). */
export interface ClassificationHeadConfig {
  head_type: 'classification' | 'multilabel_classification';
  num_labels: number;
  layers: number;
  activation_function: string | null;
  label2id: Label2Id | null;
  use_pooler: boolean;
  bias: boolean;
  dropout_prob: number | null;
}

/** tagging (`TaggingHead`). */
export interface TaggingHeadConfig {
  head_type: 'tagging';
  num_labels: number;
  layers: number;
  activation_function: string | null;
  label2id: Label2Id | null;
  dropout_prob: number | null;
}

/** question_answering (`QuestionAnsweringHead`); num_labels is 2 (start, end). */
export interface QuestionAnsweringHeadConfig {
  head_type: 'question_answering';
  num_labels: number;
  layers: number;
  activation_function: string | null;
  label2id: Label2Id | null;
  dropout_prob: number | null;
}

/** multiple_choice (`MultipleChoiceHead`). */
export interface MultipleChoiceHeadConfig {
  head_type: 'multiple_choice';
  num_choices: number;
  layers: number;
  activation_function: string | null;
  label2id: Label2Id | null;
  use_pooler: boolean;
  dropout_prob: number | null;
}

/** causal_lm (`CausalLMHead`) and masked_lm (`BertStyleMaskedLMHead`, which has no dropout_prob). */
export interface LMHeadConfig {
  head_type: 'causal_lm' | 'masked_lm';
  vocab_size: number;
  embedding_size: number;
  layers: number;
  activation_function: string | null;
  layer_norm: boolean;
  bias: boolean;
  shift_labels: boolean;
  label2id: null;
  /** causal_lm only (unused by the layers, kept for the file format). */
  dropout_prob?: number | null;
}

/** Any head config. */
export type HeadConfig = ClassificationHeadConfig | TaggingHeadConfig | QuestionAnsweringHeadConfig | MultipleChoiceHeadConfig | LMHeadConfig;

/** The model sizes a config's defaults come from. */
export interface HeadConfigContext {
  hiddenSize: number;
  vocabSize: number;
  /** config.json's `embedding_size` (ALBERT-style); the hidden size when absent. */
  embeddingSize?: number;
}

type Raw = Record<string, unknown>;

/** Python class defaults per head type (`vocab_size`/`embedding_size` come from the model). */
const CLASS_DEFAULTS: Record<HeadType, Raw> = {
  classification: { num_labels: 2, layers: 2, activation_function: 'tanh', label2id: null, use_pooler: false, bias: true, dropout_prob: null },
  multilabel_classification: { num_labels: 2, layers: 2, activation_function: 'tanh', label2id: null, use_pooler: false, bias: true, dropout_prob: null },
  tagging: { num_labels: 2, layers: 1, activation_function: 'tanh', label2id: null, dropout_prob: null },
  question_answering: { num_labels: 2, layers: 1, activation_function: 'tanh', label2id: null, dropout_prob: null },
  multiple_choice: { num_choices: 2, layers: 2, activation_function: 'tanh', label2id: null, use_pooler: false, dropout_prob: null },
  causal_lm: { layers: 1, activation_function: null, layer_norm: false, bias: false, shift_labels: true, label2id: null, dropout_prob: null },
  masked_lm: { layers: 2, activation_function: 'gelu', layer_norm: true, bias: true, shift_labels: false, label2id: null },
};

function fail(headType: string, key: string, detail: string): never {
  throw new Error(`${headType} head config: '${key}' ${detail}`);
}

function checkInt(ht: string, key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(ht, key, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function checkBool(ht: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(ht, key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function checkLabel2Id(ht: string, v: unknown): Label2Id | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail(ht, 'label2id', `must be an object {label: id}, got ${JSON.stringify(v)}`);
  const out: Label2Id = {};
  for (const [label, id] of Object.entries(v as Raw)) {
    const n = typeof id === 'string' && /^-?\d+$/.test(id) ? Number(id) : id;
    out[label] = checkInt(ht, `label2id.${label}`, n, 0);
  }
  return out;
}

/**
 * Converts Python's `id2label` ({id: label}, ids possibly as JSON string keys)
 * or a label array to `label2id`.
 */
export function label2IdFromId2Label(id2label: Record<number | string, string> | readonly string[]): Label2Id {
  const out: Label2Id = {};
  const entries = Array.isArray(id2label) ? id2label.map((l, i) => [i, l] as const) : Object.entries(id2label);
  for (const [id, label] of entries) {
    const n = Number(id);
    if (!Number.isInteger(n) || n < 0) throw new Error(`id2label: id '${id}' is not a non-negative integer`);
    out[String(label)] = n;
  }
  return out;
}

/** `{"LABEL_0": 0, …}`: the default Python sets when a head with labels has no label2id. */
export function defaultLabel2Id(n: number): Label2Id {
  const out: Label2Id = {};
  for (let i = 0; i < n; i++) out[`LABEL_${i}`] = i;
  return out;
}

function isHeadType(t: unknown): t is HeadType {
  return typeof t === 'string' && (HEAD_TYPES as readonly string[]).includes(t);
}

/**
 * Validates a Python-format head config (from head_config.json, config.json
 * `prediction_heads`, or built in code) and fills in the Python class
 * defaults. Accepts `id2label` instead of `label2id`, as Python's
 * `add_prediction_head_from_config` does. Unknown keys and wrong types are
 * errors naming the key. Heads with labels get the default
 * `{"LABEL_i": i}` map when none is given (as `add_prediction_head`).
 */
export function normalizeHeadConfig(raw: Raw, ctx: HeadConfigContext): HeadConfig {
  const ht = raw.head_type;
  if (!isHeadType(ht)) {
    throw new Error(`head config: unknown head_type ${JSON.stringify(ht)}; supported: ${HEAD_TYPES.join(', ')} (dependency_parsing, seq2seq_lm and image_classification are not implemented)`);
  }
  const defaults: Raw = { ...CLASS_DEFAULTS[ht] };
  if (ht === 'causal_lm' || ht === 'masked_lm') {
    defaults.vocab_size = ctx.vocabSize;
    defaults.embedding_size = ctx.embeddingSize ?? ctx.hiddenSize;
  }
  const allowed = new Set([...Object.keys(defaults), 'head_type', 'id2label']);
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) fail(ht, key, `is not a known key; valid: ${[...allowed].filter((k) => k !== 'id2label').sort().join(', ')}`);
  }
  const merged: Raw = { ...defaults };
  for (const [k, v] of Object.entries(raw)) {
    // Python passes None through to the constructor only where None is meaningful.
    if (k === 'id2label') continue;
    if (v === null && k !== 'activation_function' && k !== 'label2id' && k !== 'dropout_prob') continue;
    merged[k] = v;
  }
  if (raw.id2label !== undefined && raw.id2label !== null) {
    merged.label2id = label2IdFromId2Label(raw.id2label as Record<string, string>);
  }
  merged.head_type = ht;

  merged.layers = checkInt(ht, 'layers', merged.layers, 1);
  const act = merged.activation_function;
  if (act !== null && typeof act !== 'string') fail(ht, 'activation_function', `must be a string or null, got ${JSON.stringify(act)}`);
  if ('dropout_prob' in merged) {
    const p = merged.dropout_prob;
    if (p !== null && (typeof p !== 'number' || !(p >= 0 && p <= 1))) fail(ht, 'dropout_prob', `must be null or a number in [0, 1], got ${JSON.stringify(p)}`);
  }
  for (const k of ['use_pooler', 'bias', 'layer_norm', 'shift_labels']) if (k in merged) checkBool(ht, k, merged[k]);
  merged.label2id = checkLabel2Id(ht, merged.label2id);

  switch (ht) {
    case 'classification':
    case 'multilabel_classification':
    case 'tagging':
    case 'question_answering':
      checkInt(ht, 'num_labels', merged.num_labels, 1);
      if (ht === 'question_answering' && merged.num_labels !== 2) fail(ht, 'num_labels', `must be 2 (start and end logits), got ${String(merged.num_labels)}`);
      merged.label2id ??= defaultLabel2Id(merged.num_labels as number);
      break;
    case 'multiple_choice':
      checkInt(ht, 'num_choices', merged.num_choices, 1);
      merged.label2id ??= defaultLabel2Id(merged.num_choices as number);
      break;
    case 'causal_lm':
    case 'masked_lm':
      checkInt(ht, 'vocab_size', merged.vocab_size, 1);
      checkInt(ht, 'embedding_size', merged.embedding_size, 1);
      if (merged.label2id !== null) fail(ht, 'label2id', 'must be null for LM heads');
      break;
  }
  return merged as unknown as HeadConfig;
}

/** Number of labels a config predicts (num_labels or num_choices), or undefined for LM heads. */
export function headNumLabels(config: HeadConfig): number | undefined {
  if ('num_labels' in config) return config.num_labels;
  if ('num_choices' in config) return config.num_choices;
  return undefined;
}
