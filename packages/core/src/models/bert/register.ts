import { registerModelType } from '../registry.js';
import { parseBertConfig, type BertConfig } from './config.js';
import { BertModel } from './model.js';

/**
 * Registers the BERT family with the model registry: 'bert' under the
 * checkpoint prefix 'bert' (BertForSequenceClassification's `bert.`), and
 * 'roberta' / 'xlm-roberta' under 'roberta' (XLMRobertaForSequenceClassification
 * subclasses the RoBERTa classes and keeps `base_model_prefix = "roberta"`).
 * Idempotent; `models/bert/index.ts` calls it on import.
 */
export function registerBertModels(): void {
  const createBase = (config: BertConfig): BertModel => new BertModel(config);
  registerModelType<BertConfig>({ modelTypes: ['bert'], parseConfig: parseBertConfig, createBase, basePrefix: 'bert' });
  registerModelType<BertConfig>({ modelTypes: ['roberta', 'xlm-roberta'], parseConfig: parseBertConfig, createBase, basePrefix: 'roberta' });
}
