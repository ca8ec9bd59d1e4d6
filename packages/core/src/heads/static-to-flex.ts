import { defaultLabel2Id, type Label2Id } from './config.js';

/**
 * Hugging Face static-head checkpoints (BertForSequenceClassification, …)
 * converted to flex heads, as Python's `STATIC_TO_FLEX_HEAD_MAP`
 * (head_utils.py) for the architectures implemented here. `layers[i]` is the
 * static module that becomes flex layer i (null: a layer without weights).
 */
interface StaticHeadEntry {
  config: Record<string, unknown>;
  layers: (string | null)[];
  /**
   * Extra source names for the decoder bias: HF drops the tied
   * `…decoder.bias` when saving and keeps `cls.predictions.bias` /
   * `lm_head.bias`, which Python's rename list misses (it then leaves the
   * flex decoder bias at zero). Mapping it too is a deliberate fix.
   */
  decoderBias?: string;
}

const cls1 = (headType: string, module: string, extra: Record<string, unknown> = {}): StaticHeadEntry => ({
  config: { head_type: headType, layers: 1, activation_function: null, ...extra },
  layers: [null, module],
});

const robertaClassifier: StaticHeadEntry = {
  config: { head_type: 'classification', layers: 2, activation_function: 'tanh', use_pooler: false },
  layers: [null, 'classifier.dense', null, null, 'classifier.out_proj'],
};
const robertaLM = (headType: string): StaticHeadEntry => ({
  config: { head_type: headType, layers: 2, activation_function: 'gelu', layer_norm: true, bias: true },
  layers: ['lm_head.dense', null, 'lm_head.layer_norm', 'lm_head.decoder'],
  decoderBias: 'lm_head.bias',
});
const bertLM = (headType: string): StaticHeadEntry => ({
  config: { head_type: headType, layers: 2, activation_function: 'gelu', layer_norm: true, bias: true },
  layers: ['cls.predictions.transform.dense', null, 'cls.predictions.transform.LayerNorm', 'cls.predictions.decoder'],
  decoderBias: 'cls.predictions.bias',
});
const decoderOnly = (prefix: string): Record<string, StaticHeadEntry> => ({
  [`${prefix}ForSequenceClassification`]: cls1('classification', 'score', { dropout_prob: 0, bias: false }),
  [`${prefix}ForCausalLM`]: { config: { head_type: 'causal_lm' }, layers: ['lm_head'] },
  [`${prefix}ForQuestionAnswering`]: cls1('question_answering', 'qa_outputs'),
  [`${prefix}ForTokenClassification`]: cls1('tagging', 'score'),
});

export const STATIC_TO_FLEX_HEAD_MAP: Readonly<Record<string, StaticHeadEntry>> = {
  BertForSequenceClassification: cls1('classification', 'classifier', { use_pooler: true }),
  BertForMultipleChoice: cls1('multiple_choice', 'classifier', { use_pooler: true }),
  BertForTokenClassification: cls1('tagging', 'classifier'),
  BertForQuestionAnswering: cls1('question_answering', 'qa_outputs'),
  BertForMaskedLM: bertLM('masked_lm'),
  BertLMHeadModel: bertLM('causal_lm'),
  RobertaForSequenceClassification: robertaClassifier,
  RobertaForMultipleChoice: cls1('multiple_choice', 'classifier', { use_pooler: true }),
  RobertaForTokenClassification: cls1('tagging', 'classifier'),
  RobertaForQuestionAnswering: cls1('question_answering', 'qa_outputs'),
  RobertaForMaskedLM: robertaLM('masked_lm'),
  RobertaForCausalLM: robertaLM('causal_lm'),
  XLMRobertaForSequenceClassification: robertaClassifier,
  XLMRobertaForMultipleChoice: cls1('multiple_choice', 'classifier', { use_pooler: true }),
  XLMRobertaForTokenClassification: cls1('tagging', 'classifier'),
  XLMRobertaForQuestionAnswering: cls1('question_answering', 'qa_outputs'),
  XLMRobertaForMaskedLM: robertaLM('masked_lm'),
  XLMRobertaForCausalLM: robertaLM('causal_lm'),
  ...decoderOnly('Llama'),
  ...decoderOnly('Mistral'),
};

/** A static head turned into a flex head config plus a weight-name mapping. */
export interface FlexConversion {
  config: Record<string, unknown>;
  /** Maps a checkpoint key to `heads.<name>.<i>.<param>`, or returns undefined for keys outside the head. */
  rename(key: string): string | undefined;
}

/**
 * The flex head config and rename function for a static HF architecture
 * (Python `get_head_config_and_rename_list`), or undefined when the class
 * has no static head here (e.g. BertModel). Labels come from config.json's
 * `label2id` (default {LABEL_0: 0, LABEL_1: 1}); `num_labels` from
 * config.json when set (regression heads have one label and no map).
 */
export function staticToFlexHead(architecture: string, headName: string, raw: Record<string, unknown>): FlexConversion | undefined {
  const entry = STATIC_TO_FLEX_HEAD_MAP[architecture];
  if (!entry) return undefined;
  const config: Record<string, unknown> = { ...entry.config };
  let label2id = raw.label2id as Label2Id | undefined;
  if (!label2id || typeof label2id !== 'object' || Object.keys(label2id).length === 0) {
    const id2label = raw.id2label as Record<string, string> | undefined;
    label2id = id2label && typeof id2label === 'object' ? Object.fromEntries(Object.entries(id2label).map(([i, l]) => [l, Number(i)])) : defaultLabel2Id(2);
  }
  const numLabels = typeof raw.num_labels === 'number' ? raw.num_labels : Object.keys(label2id).length;
  const ht = config.head_type;
  if (ht === 'multiple_choice') {
    config.num_choices = numLabels;
    config.label2id = label2id;
  } else if (ht !== 'causal_lm' && ht !== 'masked_lm') {
    config.num_labels = numLabels;
    config.label2id = label2id;
  }
  const rules: [string, number][] = [];
  entry.layers.forEach((m, i) => {
    if (m !== null) rules.push([`${m}.`, i]);
  });
  const decoderIndex = entry.layers.length - 1;
  const rename = (key: string): string | undefined => {
    for (const [prefix, i] of rules) if (key.startsWith(prefix)) return `heads.${headName}.${i}.${key.slice(prefix.length)}`;
    if (entry.decoderBias && key === entry.decoderBias) return `heads.${headName}.${decoderIndex}.bias`;
    return undefined;
  };
  return { config, rename };
}
