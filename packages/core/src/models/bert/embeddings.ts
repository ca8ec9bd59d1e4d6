import { tidy } from '../../backend/scope.js';
import { add } from '../../ops/binary.js';
import { cast } from '../../ops/cast.js';
import { zeros } from '../../ops/creation.js';
import { Dropout } from '../../nn/dropout.js';
import { Embedding } from '../../nn/embedding.js';
import { Module } from '../../nn/module.js';
import { LayerNorm } from '../../nn/norm.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BertConfig } from './config.js';
import { absolutePositionIds, positionIdsFromPadding } from './positions.js';

/** Inputs of `BertEmbeddings.forward`. */
export interface BertEmbeddingsInputs {
  /** Token ids [batch, seq] (i32). */
  inputIds: Tensor;
  /** Segment ids [batch, seq]; zeros when absent. */
  tokenTypeIds?: Tensor;
  /** Position ids [batch, seq] or [1, seq]; derived (BERT: 0…; RoBERTa: from the padding) when absent. */
  positionIds?: Tensor;
}

function asIds(t: Tensor): Tensor {
  return t.dtype === 'i32' ? t : cast(t, 'i32');
}

/**
 * word + token-type + position embeddings, then LayerNorm and dropout
 * (HF `BertEmbeddings`; `RobertaEmbeddings` is the same module with position
 * ids counted from the padding). Children: `word_embeddings`,
 * `position_embeddings`, `token_type_embeddings`, `LayerNorm`, `dropout`.
 * As in HF, the word embeddings (and for RoBERTa the position embeddings)
 * give the `pad_token_id` row no gradient.
 */
export class BertEmbeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    const padding = config.padTokenId === null ? {} : { paddingIdx: config.padTokenId };
    this.wordEmbeddings = this.registerModule('word_embeddings', new Embedding(config.vocabSize, config.hiddenSize, padding));
    this.positionEmbeddings = this.registerModule(
      'position_embeddings',
      new Embedding(config.maxPositionEmbeddings, config.hiddenSize, config.positionIdsFromPadding ? padding : {}),
    );
    this.tokenTypeEmbeddings = this.registerModule('token_type_embeddings', new Embedding(config.typeVocabSize, config.hiddenSize));
    this.layerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb));
  }

  /** The position ids used when none are given, checked against `max_position_embeddings`. */
  defaultPositionIds(inputIds: Tensor): Tensor {
    const seqLen = inputIds.shape[1]!;
    const { maxPositionEmbeddings: maxPos, positionIdsFromPadding: fromPadding } = this.config;
    const pad = this.config.padTokenId ?? 0; // never null when fromPadding (parseBertConfig checks)
    const limit = fromPadding ? maxPos - pad - 1 : maxPos;
    if (seqLen > limit) {
      throw new RangeError(
        `${this.config.modelType} embeddings: sequence length ${seqLen} exceeds the ${limit} positions the model has (max_position_embeddings ${maxPos}${fromPadding ? `, offset by pad_token_id + 1 = ${pad + 1}` : ''})`,
      );
    }
    return fromPadding ? positionIdsFromPadding(inputIds, pad) : absolutePositionIds(seqLen, inputIds);
  }

  /** ids [batch, seq] → embeddings [batch, seq, hidden]. */
  forward(inputs: BertEmbeddingsInputs): Tensor {
    const ids = inputs.inputIds;
    if (ids.rank !== 2) throw new Error(`BertEmbeddings: input_ids must be [batch, seq], got [${ids.shape.join(', ')}]`);
    return tidy(() => {
      const inputIds = asIds(ids);
      const positionIds = inputs.positionIds ? asIds(inputs.positionIds) : this.defaultPositionIds(inputIds);
      // HF's default token types are a zeros buffer broadcast over the batch.
      const tokenTypeIds = inputs.tokenTypeIds ? asIds(inputs.tokenTypeIds) : zeros([1, ids.shape[1]!], { dtype: 'i32', backend: ids.backend });
      // Summed in HF's order (words + token types, then positions) so f32 rounding matches.
      const words = this.wordEmbeddings.forward(inputIds);
      const withTypes = add(words, this.tokenTypeEmbeddings.forward(tokenTypeIds));
      const embeddings = add(withTypes, this.positionEmbeddings.forward(positionIds));
      return this.dropout.forward(this.layerNorm.forward(embeddings));
    });
  }
}
