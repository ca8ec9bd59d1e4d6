/**
 * A tiny stand-in base model for head and loader tests: embeddings, one
 * tanh layer and an optional pooler, with BaseModel's contract.
 */
import { embedding, linear, narrow, reshape, tanh, tidy, type Tensor } from '../src/index.js';
import { Embedding, Linear, Module } from '../src/nn/index.js';
import type { BaseModel, BaseModelOutput, ModelInputs, TransformerConfig } from '../src/models/types.js';

export function fakeConfig(over: Partial<TransformerConfig> = {}, raw: Record<string, unknown> = {}): TransformerConfig {
  const c = { modelType: 'fake-bert', vocabSize: 20, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, ...over };
  return { ...c, raw: { model_type: c.modelType, vocab_size: c.vocabSize, hidden_size: c.hiddenSize, hidden_dropout_prob: 0.1, ...raw } };
}

export class FakeBase extends Module implements BaseModel {
  readonly embeddings: Embedding;
  readonly dense: Linear;
  readonly pooler: Linear | null;

  constructor(readonly config: TransformerConfig, opts: { pooler?: boolean } = {}) {
    super();
    this.embeddings = this.registerModule('embeddings', new Embedding(config.vocabSize, config.hiddenSize));
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
    this.pooler = opts.pooler === false ? null : this.registerModule('pooler', new Linear(config.hiddenSize, config.hiddenSize));
  }

  inputEmbeddings(): Tensor {
    return this.embeddings.weight;
  }

  forward(inputs: ModelInputs): BaseModelOutput {
    return tidy(() => {
      const h = tanh(this.dense.forward(embedding(this.embeddings.weight, inputs.inputIds)));
      const out: BaseModelOutput = { lastHiddenState: h };
      if (this.pooler) {
        const [b, , d] = h.shape as [number, number, number];
        out.pooledOutput = tanh(linear(reshape(narrow(h, 1, 0, 1), [b, d]), this.pooler.weight, this.pooler.bias));
      }
      if (inputs.outputHiddenStates) out.hiddenStates = [h];
      return out;
    });
  }
}
