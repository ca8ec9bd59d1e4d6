import { tidy } from '../../backend/scope.js';
import { DTypeError, ShapeError, formatShape } from '../../errors.js';
import { ModuleList } from '../../nn/containers.js';
import { Embedding } from '../../nn/embedding.js';
import { Module } from '../../nn/module.js';
import type { AdapterHost } from '../../adapters/host.js';
import { EmbeddingSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BaseModel, BaseModelOutput, ModelInputs } from '../types.js';
import type { LlamaLayerContext } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaDecoderLayer, LlamaRMSNorm } from './decoder-layer.js';
import { initNormal } from './init.js';
import { LlamaKVCache } from './kv-cache.js';
import { buildAttentionMask, positionIdsFromMask, positionIdsFromRange } from './mask.js';
import { LlamaRotaryEmbedding } from './rope.js';

/**
 * The Llama/Mistral decoder stack without a head (HF `LlamaModel`):
 * embed_tokens → layers.N → norm, parameter names as in HF (a
 * `LlamaForCausalLM` checkpoint holds them under 'model.', with lm_head
 * outside). Fresh weights follow HF's init: N(0, initializer_range²) for
 * projections and embeddings, ones for norms.
 *
 * Inputs: token ids [batch, seq]; an optional padding mask, which for a KV
 * cache covers cached and new tokens ([batch, cached + seq], as HF generate
 * passes it); position ids default to the count of real tokens before each
 * one (so left padding works), or cached + 0, 1, … without a mask.
 */
export class LlamaModel extends Module implements BaseModel, SiteOwner {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: LlamaRMSNorm;
  readonly rotary_emb: LlamaRotaryEmbedding;
  /** 'embeddings' site (invertible adapters). Hooks must keep the sequence length: prompt tuning is not supported for Llama (as in Python). */
  readonly embeddingSite: EmbeddingSite;
  readonly adapterSites: readonly AnySite[];
  /** Set by the adapter host; each forward pass then opens a ForwardContext. */
  adapterHost?: AdapterHost;

  constructor(readonly config: LlamaConfig) {
    super();
    this.embeddingSite = new EmbeddingSite(this, -1, 'embeddings');
    this.adapterSites = [this.embeddingSite];
    const pad = config.padTokenId;
    const paddingIdx = pad !== null && pad >= 0 && pad < config.vocabSize ? pad : undefined;
    this.embed_tokens = this.registerModule('embed_tokens', new Embedding(config.vocabSize, config.hiddenSize, { paddingIdx }));
    initNormal(this.embed_tokens.weight, config.initializerRange);
    this.layers = this.registerModule('layers', new ModuleList<LlamaDecoderLayer>());
    for (let i = 0; i < config.numHiddenLayers; i++) this.layers.push(new LlamaDecoderLayer(config, i));
    this.norm = this.registerModule('norm', new LlamaRMSNorm(config.hiddenSize, { eps: config.rmsNormEps }));
    this.rotary_emb = this.registerModule('rotary_emb', new LlamaRotaryEmbedding(config.headDim, config.ropeTheta));
  }

  /** The token embedding matrix [vocab, hidden] (a tied LM head multiplies by it). */
  inputEmbeddings(): Tensor {
    return this.embed_tokens.weight;
  }

  /** An empty KV cache sized for this model, for incremental decoding. */
  createCache(): LlamaKVCache {
    return new LlamaKVCache(this.config.numHiddenLayers);
  }

  /**
   * Runs the decoder. `hiddenStates` (with `outputHiddenStates`) follows HF
   * Llama: the embeddings, then the input of every later layer, then the
   * final output after `norm` — numLayers + 1 tensors, the last equal to
   * `lastHiddenState`.
   */
  forward(inputs: ModelInputs): BaseModelOutput {
    const ids = inputs.inputIds;
    if (ids.rank !== 2) throw new ShapeError(`LlamaModel: inputIds must be [batch, seq], got ${formatShape(ids.shape)}`);
    if (ids.dtype !== 'i32') throw new DTypeError(`LlamaModel: inputIds must be i32, got ${ids.dtype}`);
    const [batch, seq] = ids.shape as [number, number];
    const cache = inputs.cache;
    const past = cache?.length ?? 0;
    if (inputs.positionIds && (inputs.positionIds.rank !== 2 || inputs.positionIds.shape[1] !== seq)) {
      throw new ShapeError(`LlamaModel: positionIds must be [batch, ${seq}], got ${formatShape(inputs.positionIds.shape)}`);
    }
    const host = this.adapterHost;
    if (!host) return this.run(inputs, batch, seq, past);
    // The host opens the pass's ForwardContext (and replicates the inputs for Parallel setups: the batch may grow).
    return host.runPass(inputs, (ins) => this.run(ins, ins.inputIds.shape[0]!, seq, past));
  }

  private run(inputs: ModelInputs, batch: number, seq: number, past: number): BaseModelOutput {
    const ids = inputs.inputIds;
    const cache = inputs.cache;
    return tidy(() => {
      const mask = inputs.attentionMask;
      const positionIds = inputs.positionIds ?? (mask ? positionIdsFromMask(mask, seq) : positionIdsFromRange(batch, past, seq, ids));
      const ctx: LlamaLayerContext = {
        angles: this.rotary_emb.forward(positionIds),
        mask: buildAttentionMask({ batch, queryLength: seq, pastLength: past, attentionMask: mask, slidingWindow: this.config.slidingWindow, like: ids }),
        cache,
      };
      let h = this.embeddingSite.run({ hidden: this.embed(ids), attentionMask: mask ?? null }).hidden;
      if (h.shape[1] !== seq) throw new ShapeError(`LlamaModel: an 'embeddings' adapter changed the sequence length (${seq} → ${h.shape[1]}); prompt tuning is not supported for Llama`);
      const hiddenStates: Tensor[] = [];
      for (const layer of this.layers) {
        if (inputs.outputHiddenStates) hiddenStates.push(h);
        h = layer.forward(h, ctx);
      }
      const last = this.norm.forward(h);
      if (!inputs.outputHiddenStates) return { lastHiddenState: last };
      hiddenStates.push(last);
      return { lastHiddenState: last, hiddenStates };
    });
  }

  /** Token ids → embeddings [batch, seq, hidden] (the 'embeddings' site). */
  embed(ids: Tensor): Tensor {
    return this.embed_tokens.forward(ids);
  }
}
