import { tidy } from '../../backend/scope.js';
import { add } from '../../ops/binary.js';
import { GELU, ReLU, SiLU } from '../../nn/activation.js';
import { Dropout } from '../../nn/dropout.js';
import { AdaptableLinear } from '../../adapters/adaptable-linear.js';
import { ResidualSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import { Module } from '../../nn/module.js';
import { LayerNorm } from '../../nn/norm.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BertActivation, BertConfig } from './config.js';

/** The activation module for an HF `hidden_act` name (HF `ACT2FN`). */
export function bertActivation(name: BertActivation): GELU | ReLU | SiLU {
  switch (name) {
    case 'gelu': return new GELU('none');
    case 'gelu_new':
    case 'gelu_pytorch_tanh': return new GELU('tanh');
    case 'relu': return new ReLU();
    case 'silu':
    case 'swish': return new SiLU();
  }
}

/**
 * The FFN's first half (HF `BertIntermediate`): `dense` (h→intermediate)
 * then the activation. `dense` is a `linear` adapter site (LoRA / IA³ at
 * location 'intermediate').
 */
export class BertIntermediate extends Module {
  readonly dense: AdaptableLinear;
  readonly act: GELU | ReLU | SiLU;

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.dense = this.registerModule('dense', new AdaptableLinear(config.hiddenSize, config.intermediateSize, layerIndex, 'intermediate'));
    this.act = this.registerModule('intermediate_act_fn', bertActivation(config.hiddenAct));
  }

  forward(hidden: Tensor): Tensor {
    return tidy(() => this.act.forward(this.dense.forward(hidden)));
  }
}

/**
 * The FFN's second half (HF `BertOutput`): `dense` (intermediate→h, a
 * `linear` site at location 'output'), dropout, then the residual and
 * `LayerNorm`. `residual` is the `residual.output` adapter site.
 */
export class BertOutput extends Module implements SiteOwner {
  readonly dense: AdaptableLinear;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;
  readonly residualSite: ResidualSite;
  readonly adapterSites: readonly AnySite[];

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.dense = this.registerModule('dense', new AdaptableLinear(config.intermediateSize, config.hiddenSize, layerIndex, 'output'));
    this.residualSite = new ResidualSite(this, layerIndex, 'output_adapter');
    this.adapterSites = [this.residualSite];
    this.layerNorm = this.registerModule('LayerNorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.dropout = this.registerModule('dropout', new Dropout(config.hiddenDropoutProb));
  }

  /** `residual.output` site: LayerNorm(h + inputTensor) unless a bottleneck adapter takes over. */
  residual(h: Tensor, inputTensor: Tensor): Tensor {
    const ln = (x: Tensor): Tensor => this.layerNorm.forward(x);
    return this.residualSite.run(h, inputTensor, ln, () => ln(add(h, inputTensor)));
  }

  /** intermediate [batch, seq, intermediate] and the attention block output → the layer output. */
  forward(intermediate: Tensor, inputTensor: Tensor): Tensor {
    return tidy(() => this.residual(this.dropout.forward(this.dense.forward(intermediate)), inputTensor));
  }
}
