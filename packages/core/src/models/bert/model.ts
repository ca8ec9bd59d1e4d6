import { tidy } from '../../backend/scope.js';
import { isFloat } from '../../tensor/dtype.js';
import type { AdapterHost } from '../../adapters/host.js';
import { EmbeddingSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import { Module, type LoadStateDictOptions, type LoadStateDictResult, type StateDictInput } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BaseModel, BaseModelOutput, ModelInputs } from '../types.js';
import type { BertConfig } from './config.js';
import { BertEmbeddings } from './embeddings.js';
import { BertEncoder } from './encoder.js';
import { initBertWeights } from './init.js';
import { BertPooler } from './pooler.js';
import { extendedAttentionMask } from './positions.js';

/**
 * Checkpoint keys HF itself ignores when loading (its non-persistent
 * `position_ids` / `token_type_ids` buffers, still present in older
 * checkpoints such as all-MiniLM-L6-v2's), with or without a prefix.
 */
export function isIgnoredBertCheckpointKey(key: string): boolean {
  return /(^|\.)embeddings\.(position_ids|token_type_ids)$/.test(key);
}

/** Options of `BertModel`. */
export interface BertModelOptions {
  /** Build the `pooler` (tanh(dense(CLS))) and return `pooledOutput` (default true, as HF). */
  addPoolingLayer?: boolean;
  /**
   * Re-initialise weights as HF does (normal(0, initializer_range), zero
   * biases; default true). Pass false when a checkpoint is loaded right
   * after, to skip the extra random draws.
   */
  initWeights?: boolean;
}

/**
 * The BERT / RoBERTa / XLM-RoBERTa encoder (HF `BertModel`, `RobertaModel`,
 * `XLMRobertaModel`): children `embeddings`, `encoder`, and `pooler` unless
 * `addPoolingLayer` is false. Parameter names match HF's bare base model
 * (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, …),
 * so a base checkpoint loads with `loadStateDict(weights)`; task checkpoints
 * hold the same names under the registry's `basePrefix` ('bert.' / 'roberta.').
 *
 * HF keeps `embeddings.position_ids` / `token_type_ids` as non-persistent
 * buffers; they are computed on the fly here, so they are not in the state
 * dict either, and `loadStateDict` skips them when a checkpoint has them
 * (`isIgnoredBertCheckpointKey`).
 */
export class BertModel extends Module implements BaseModel, SiteOwner {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;
  /** `embeddings` site: prompt tuning and invertible adapters act on the embedding output. */
  readonly embeddingSite: EmbeddingSite;
  readonly adapterSites: readonly AnySite[];
  /** Set by the adapter host (initAdapters / AdapterModel); each forward pass then opens a ForwardContext. */
  adapterHost?: AdapterHost;

  constructor(readonly config: BertConfig, opts: BertModelOptions = {}) {
    super();
    this.embeddingSite = new EmbeddingSite(this, -1, 'embeddings');
    this.adapterSites = [this.embeddingSite];
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(config));
    this.encoder = this.registerModule('encoder', new BertEncoder(config));
    this.pooler = opts.addPoolingLayer === false ? null : this.registerModule('pooler', new BertPooler(config));
    if (opts.initWeights !== false) initBertWeights(this, config.initializerRange);
    this.nameParameters();
  }

  /** `Module.loadStateDict`, first dropping the buffer keys HF ignores too (see `isIgnoredBertCheckpointKey`). */
  override loadStateDict(dict: StateDictInput, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const entries = dict instanceof Map ? [...dict] : Object.entries(dict);
    return super.loadStateDict(new Map(entries.filter(([k]) => !isIgnoredBertCheckpointKey(k))), opts);
  }

  /** The word embedding matrix [vocab, hidden] (tied masked-LM heads use it). */
  inputEmbeddings(): Tensor {
    return this.embeddings.wordEmbeddings.weight;
  }

  /** Checks the [batch, seq] token mask against the input ids. */
  checkAttentionMask(inputs: ModelInputs): void {
    const m = inputs.attentionMask;
    if (!m) return;
    const ids = inputs.inputIds;
    if (m.rank !== 2 || m.shape[0] !== ids.shape[0] || m.shape[1] !== ids.shape[1]) {
      throw new Error(`${this.config.modelType}: attention_mask [${m.shape.join(', ')}] must match input_ids [${ids.shape.join(', ')}]`);
    }
  }

  /**
   * Token ids → hidden states. Returns `lastHiddenState` [batch, seq, hidden],
   * `hiddenStates` (embeddings output then each layer's output) when
   * `outputHiddenStates` is set, and `pooledOutput` [batch, hidden] when the
   * model has a pooler. Dropout is active only in training mode (`train()`;
   * modules start in training mode as in PyTorch, so call `eval()` for inference).
   */
  forward(inputs: ModelInputs): BaseModelOutput {
    if (inputs.cache) throw new Error(`${this.config.modelType}: a KV cache is not supported by the bidirectional encoder`);
    this.checkAttentionMask(inputs);
    const host = this.adapterHost;
    if (!host) return this.run(inputs);
    // The host opens the pass's ForwardContext (and replicates the inputs for Parallel setups).
    return host.runPass(inputs, (ins) => this.run(ins));
  }

  private run(inputs: ModelInputs): BaseModelOutput {
    return tidy(() => {
      const embedded = this.embeddings.forward(inputs);
      if (!isFloat(embedded.dtype)) throw new Error(`${this.config.modelType}: embeddings are ${embedded.dtype}, expected a float dtype`);
      // Prompt tuning may lengthen the sequence (and its token mask) here.
      const { hidden, attentionMask } = this.embeddingSite.run({ hidden: embedded, attentionMask: inputs.attentionMask ?? null });
      const mask = attentionMask ? extendedAttentionMask(attentionMask, hidden.dtype) : null;
      const { lastHiddenState, hiddenStates } = this.encoder.forward(hidden, mask, inputs.outputHiddenStates ?? false);
      const out: BaseModelOutput = { lastHiddenState };
      if (hiddenStates) out.hiddenStates = hiddenStates;
      if (this.pooler) out.pooledOutput = this.pooler.forward(lastHiddenState);
      const prompt = this.adapterHost?.currentContext()?.promptTokensLength;
      if (prompt) out.promptTokensLength = prompt;
      return out;
    });
  }
}
