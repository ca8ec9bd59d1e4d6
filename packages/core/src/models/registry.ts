import type { BaseModel, TransformerConfig } from './types.js';

/**
 * Model registry keyed by config.json's `model_type`: how to parse the config,
 * build the base model, and under which prefix its weights live in a
 * task checkpoint (`bert.` in BertForSequenceClassification, `model.` in
 * LlamaForCausalLM).
 */
export interface ModelTypeEntry<C extends TransformerConfig = TransformerConfig> {
  /** config.json `model_type` values served by this entry, e.g. ['bert'] or ['roberta', 'xlm-roberta']. */
  modelTypes: string[];
  /** Parses and validates config.json; unknown or missing required fields are errors naming the field. */
  parseConfig(raw: Record<string, unknown>): C;
  /** Builds the base model with freshly initialised weights. */
  createBase(config: C): BaseModel;
  /** Prefix of base-model weights inside task checkpoints ('bert', 'roberta', 'model'). */
  basePrefix: string;
}

const entries = new Map<string, ModelTypeEntry>();

/** Registers an architecture for `AutoAdapterModel` and friends. */
export function registerModelType<C extends TransformerConfig>(entry: ModelTypeEntry<C>): void {
  for (const t of entry.modelTypes) entries.set(t, entry as unknown as ModelTypeEntry);
}

/** The entry for a model_type; unknown types are an error listing the supported ones. */
export function modelTypeEntry(modelType: string): ModelTypeEntry {
  const e = entries.get(modelType);
  if (!e) throw new Error(`unsupported model_type '${modelType}'; supported: ${supportedModelTypes().join(', ') || 'none registered'}`);
  return e;
}

export function supportedModelTypes(): string[] {
  return [...entries.keys()].sort();
}
