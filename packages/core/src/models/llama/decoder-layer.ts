import { add } from '../../ops/binary.js';
import { tidy } from '../../backend/scope.js';
import { Module } from '../../nn/module.js';
import { RMSNorm } from '../../nn/norm.js';
import { ResidualSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import type { Tensor } from '../../tensor/tensor.js';
import { LlamaAttention, type LlamaLayerContext } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaMLP } from './mlp.js';

/** RMS norm with Llama's naming (parameter 'weight'); `rms_norm_eps` from the config. */
export class LlamaRMSNorm extends RMSNorm {}

/**
 * One pre-norm decoder block (HF `LlamaDecoderLayer`):
 *   h = x + self_attn(input_layernorm(x))            — `attentionResidual`
 *   y = h + mlp(post_attention_layernorm(h))         — `outputResidual`
 * The two residual steps are methods of their own: the 'residual.attention'
 * and 'residual.output' adapter sites (bottleneck adapters) act there.
 */
export class LlamaDecoderLayer extends Module implements SiteOwner {
  readonly self_attn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: LlamaRMSNorm;
  readonly post_attention_layernorm: LlamaRMSNorm;
  /** Pre-norm blocks: the sites get no layer norm, and the default is a plain residual add. */
  readonly attentionResidualSite: ResidualSite;
  readonly outputResidualSite: ResidualSite;
  readonly adapterSites: readonly AnySite[];

  constructor(readonly config: LlamaConfig, readonly layerIndex: number) {
    super();
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(config, layerIndex));
    this.mlp = this.registerModule('mlp', new LlamaMLP(config, layerIndex));
    this.attentionResidualSite = new ResidualSite(this, layerIndex, 'mh_adapter');
    this.outputResidualSite = new ResidualSite(this, layerIndex, 'output_adapter');
    this.adapterSites = [this.attentionResidualSite, this.outputResidualSite];
    this.input_layernorm = this.registerModule('input_layernorm', new LlamaRMSNorm(config.hiddenSize, { eps: config.rmsNormEps }));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new LlamaRMSNorm(config.hiddenSize, { eps: config.rmsNormEps }));
  }

  /** hidden [batch, len, hidden] → [batch, len, hidden]. */
  forward(hidden: Tensor, ctx: LlamaLayerContext): Tensor {
    return tidy(() => {
      const attnOut = this.self_attn.forward(this.input_layernorm.forward(hidden), ctx);
      const h = this.attentionResidual(attnOut, hidden);
      const mlpOut = this.mlp.forward(this.post_attention_layernorm.forward(h));
      return this.outputResidual(mlpOut, h);
    });
  }

  /** Attention sub-layer output plus its residual input (the 'residual.attention' site). */
  attentionResidual(attnOutput: Tensor, residual: Tensor): Tensor {
    return this.attentionResidualSite.run(attnOutput, residual, null, () => add(residual, attnOutput));
  }

  /** MLP sub-layer output plus its residual input (the 'residual.output' site). */
  outputResidual(mlpOutput: Tensor, residual: Tensor): Tensor {
    return this.outputResidualSite.run(mlpOutput, residual, null, () => add(residual, mlpOutput));
  }
}
