/**
 * BERT, RoBERTa and XLM-RoBERTa encoders with Hugging Face parameter names.
 * Importing this module registers the three model types with the model
 * registry (`registerBertModels()`, idempotent, exported too).
 */
export { BERT_MODEL_TYPES, parseBertConfig, type BertActivation, type BertConfig, type BertModelType } from './config.js';
export { BertEmbeddings, type BertEmbeddingsInputs } from './embeddings.js';
export { BertAttention, BertSelfAttention, BertSelfOutput } from './attention.js';
export { BertIntermediate, BertOutput, bertActivation } from './feed-forward.js';
export { BertEncoder, BertLayer, type BertEncoderOutput } from './encoder.js';
export { BertPooler } from './pooler.js';
export { BertModel, isIgnoredBertCheckpointKey, type BertModelOptions } from './model.js';
export { initBertWeights } from './init.js';
export { absolutePositionIds, extendedAttentionMask, positionIdsFromPadding } from './positions.js';
export { registerBertModels } from './register.js';

import { registerBertModels } from './register.js';
registerBertModels();
