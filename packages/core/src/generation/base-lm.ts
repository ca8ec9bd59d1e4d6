import { tidy } from '../backend/scope.js';
import type { BaseModel, KVCache } from '../models/types.js';
import { linear } from '../ops/matmul.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CausalLM } from './types.js';

/**
 * A CausalLM from a base model and an LM head matrix [vocab, hidden]:
 * logits = lastHiddenState · Wᵀ. Without `lmHeadWeight` the head is tied to
 * the input embeddings. For models loaded without a head module (e.g. from
 * GGUF); task heads provide their own forward.
 */
export function causalLMFromBase(base: BaseModel & { createCache?(): KVCache }, lmHeadWeight?: Tensor | null): CausalLM {
  const lm: CausalLM = {
    forward: (inputs) => tidy(() => ({ logits: linear(base.forward(inputs).lastHiddenState, lmHeadWeight ?? base.inputEmbeddings()) })),
  };
  if (base.createCache) lm.createCache = () => base.createCache!();
  return lm;
}
