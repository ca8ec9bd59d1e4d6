/**
 * Llama-family decoders (Llama, Mistral): config, model, KV cache, rotary
 * embeddings and GGUF loading. Importing this registers model types
 * 'llama' and 'mistral'.
 */
export { parseLlamaConfig, type LlamaConfig, type ParseLlamaConfigOptions, type RopeLayout } from './config.js';
export { LlamaModel } from './model.js';
export { LlamaDecoderLayer, LlamaRMSNorm } from './decoder-layer.js';
export { LlamaAttention, type LlamaLayerContext } from './attention.js';
export { LlamaMLP } from './mlp.js';
export { LlamaKVCache } from './kv-cache.js';
export { LlamaRotaryEmbedding, applyRotary, permuteRotaryRows, rotaryInverseFrequencies, type RotaryAngles } from './rope.js';
export { buildAttentionMask, positionIdsFromMask, positionIdsFromRange, type AttentionMaskSpec } from './mask.js';
export { llamaFromGguf, loadLlamaGguf, llamaRawConfigFromGguf, hfNameOfGgufTensor, type LlamaFromGguf, type LlamaFromGgufOptions } from './gguf-load.js';
export { registerLlamaModelTypes } from './register.js';

import { registerLlamaModelTypes } from './register.js';
registerLlamaModelTypes();
