import { tidy } from '../../backend/scope.js';
import { add } from '../../ops/binary.js';
import { scaledDotProductAttention } from '../../ops/attention.js';
import { permute, reshape } from '../../ops/shape.js';
import { Dropout } from '../../nn/dropout.js';
import { AdaptableLinear } from '../../adapters/adaptable-linear.js';
import { Linear } from '../../nn/linear.js';
import { AttentionSite, ResidualSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import { Module } from '../../nn/module.js';
import { LayerNorm } from '../../nn/norm.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BertConfig } from './config.js';

/**
 * Multi-head self-attention (HF `BertSelfAttention`): children `query`, `key`,
 * `value` (Linear h→h) and the attention-probability dropout.
 *
 * Adapter sites: the three projections are the `linear` site (LoRA / IA³
 * replace the children via `registerModule`); `attend` is the `attention`
 * site (prefix tuning prepends keys/values and widens the mask there).
 */
export class BertSelfAttention extends Module implements SiteOwner {
  readonly numHeads: number;
  readonly headSize: number;
  readonly query: AdaptableLinear;
  readonly key: AdaptableLinear;
  readonly value: AdaptableLinear;
  readonly attentionDropoutP: number;
  readonly attentionSite: AttentionSite;
  readonly adapterSites: readonly AnySite[];

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.numHeads = config.numAttentionHeads;
    this.headSize = config.hiddenSize / config.numAttentionHeads;
    const h = config.hiddenSize;
    this.query = this.registerModule('query', new AdaptableLinear(h, h, layerIndex, 'selfattn', 'q'));
    this.key = this.registerModule('key', new AdaptableLinear(h, h, layerIndex, 'selfattn', 'k'));
    this.value = this.registerModule('value', new AdaptableLinear(h, h, layerIndex, 'selfattn', 'v'));
    this.attentionSite = new AttentionSite(this, layerIndex, 'self_prefix', this.numHeads, this.headSize, h);
    this.adapterSites = [this.attentionSite];
    // HF keeps a `dropout` child; its p is applied inside the attention op here.
    this.attentionDropoutP = config.attentionProbsDropoutProb;
    this.registerModule('dropout', new Dropout(config.attentionProbsDropoutProb));
  }

  /** [batch, seq, hidden] → [batch, heads, seq, headSize]. */
  splitHeads(x: Tensor): Tensor {
    const [b, l] = x.shape as [number, number, number];
    return permute(reshape(x, [b, l, this.numHeads, this.headSize]), [0, 2, 1, 3]);
  }

  /** [batch, heads, seq, headSize] → [batch, seq, hidden]. */
  mergeHeads(x: Tensor): Tensor {
    const [b, , l] = x.shape as [number, number, number, number];
    return reshape(permute(x, [0, 2, 1, 3]), [b, l, this.numHeads * this.headSize]);
  }

  /**
   * `attention` site: softmax(q·kᵀ/√d + mask)·v with dropout on the
   * probabilities while training. q, k, v are [batch, heads, seq, headSize];
   * `mask` is additive [batch, 1, 1, keys] (or null).
   */
  attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): Tensor {
    return scaledDotProductAttention(q, k, v, { mask, dropoutP: this.attentionDropoutP, training: this.training });
  }

  /** hidden [batch, seq, hidden] → context [batch, seq, hidden]. */
  forward(hidden: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => {
      const q = this.splitHeads(this.query.forward(hidden));
      const k = this.splitHeads(this.key.forward(hidden));
      const v = this.splitHeads(this.value.forward(hidden));
      const s = this.attentionSite.run({ key: k, value: v, mask }, hidden);
      return this.mergeHeads(this.attend(q, s.key, s.value, s.mask));
    });
  }
}

/**
 * Attention output projection (HF `BertSelfOutput`): `dense` (h→h), dropout,
 * then the residual and `LayerNorm`. `residual` is the `residual.attention`
 * adapter site (a bottleneck adapter replaces LayerNorm(h + input) there).
 */
export class BertSelfOutput extends Module implements SiteOwner {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;
  readonly residualSite: ResidualSite;
  readonly adapterSites: readonly AnySite[];

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
    this.residualSite = new ResidualSite(this, layerIndex, 'mh_adapter');
    this.adapterSites = [this.residualSite];
    this.layerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb));
  }

  /** `residual.attention` site: LayerNorm(h + inputTensor) unless a bottleneck adapter takes over. */
  residual(h: Tensor, inputTensor: Tensor): Tensor {
    const ln = (x: Tensor): Tensor => this.layerNorm.forward(x);
    return this.residualSite.run(h, inputTensor, ln, () => ln(add(h, inputTensor)));
  }

  /** context [batch, seq, hidden] and the attention input → the attention block output. */
  forward(context: Tensor, inputTensor: Tensor): Tensor {
    return tidy(() => this.residual(this.dropout.forward(this.dense.forward(context)), inputTensor));
  }
}

/** Self-attention plus its output block (HF `BertAttention`): children `self` and `output`. */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertSelfOutput;

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(config, layerIndex));
    this.output = this.registerModule('output', new BertSelfOutput(config, layerIndex));
  }

  forward(hidden: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => this.output.forward(this.self.forward(hidden, mask), hidden));
  }
}
