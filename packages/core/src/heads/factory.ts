import { ClassificationHead } from './classification.js';
import { normalizeHeadConfig, type HeadConfig } from './config.js';
import { LMHead, type LMHeadBuildOptions } from './language-modeling.js';
import { MultipleChoiceHead } from './multiple-choice.js';
import type { PredictionHead } from './prediction-head.js';
import { QuestionAnsweringHead } from './question-answering.js';
import { TaggingHead } from './tagging.js';
import { HEAD_TYPES, type HeadHost } from './types.js';

/** Builds a head of a custom type from its (Python-format) config. */
export type HeadFactory = (host: HeadHost, name: string, config: Record<string, unknown>, opts: LMHeadBuildOptions) => PredictionHead;

const customHeads = new Map<string, HeadFactory>();

/**
 * Registers a custom head type (Python `register_custom_head`): heads whose
 * config says `head_type: identifier` are then built by `factory`.
 */
export function registerHeadType(identifier: string, factory: HeadFactory): void {
  if ((HEAD_TYPES as readonly string[]).includes(identifier)) throw new Error(`registerHeadType: '${identifier}' is a built-in head type`);
  customHeads.set(identifier, factory);
}

/** Built-in and registered head types. */
export function knownHeadTypes(): string[] {
  return [...HEAD_TYPES, ...customHeads.keys()];
}

/**
 * Builds a head from a Python-format config (head_config.json's "config",
 * or an entry of config.json's "prediction_heads"), as Python's
 * `add_prediction_head_from_config`. Missing keys take the Python class
 * defaults; unknown head types are an error listing the known ones.
 */
export function createHead(host: HeadHost, name: string, config: Record<string, unknown>, opts: LMHeadBuildOptions = {}): PredictionHead {
  const type = config.head_type;
  if (typeof type === 'string' && customHeads.has(type)) return customHeads.get(type)!(host, name, config, opts);
  // Validates head_type (and everything else) with an error naming what is wrong.
  const full: HeadConfig = normalizeHeadConfig(config, host.config);
  switch (full.head_type) {
    case 'classification':
    case 'multilabel_classification':
      return new ClassificationHead(host, name, full, opts);
    case 'tagging':
      return new TaggingHead(host, name, full, opts);
    case 'multiple_choice':
      return new MultipleChoiceHead(host, name, full, opts);
    case 'question_answering':
      return new QuestionAnsweringHead(host, name, full, opts);
    case 'masked_lm':
    case 'causal_lm':
      return new LMHead(host, name, full, opts);
  }
}
