import { Linear, type LinearOptions } from '../nn/linear.js';
import type { Tensor } from '../tensor/tensor.js';
import { LinearSite, type AnySite, type SiteOwner } from './sites.js';

/**
 * A Linear layer that is also a `linear` insertion point. Its parameters keep
 * the plain Linear names (`query.weight`), so base checkpoints load as they
 * are; LoRA/IA³ modules attach as its children (`query.loras.<name>.lora_A`).
 */
export class AdaptableLinear extends Linear implements SiteOwner {
  readonly site: LinearSite;
  readonly adapterSites: readonly AnySite[];

  constructor(inFeatures: number, outFeatures: number, layer: number, location: string, key?: 'q' | 'k' | 'v', opts: LinearOptions = {}) {
    super(inFeatures, outFeatures, opts);
    this.site = new LinearSite(this, layer, location, key);
    this.adapterSites = [this.site];
  }

  /** The frozen base projection (quantized layers override this). */
  forwardBase(x: Tensor): Tensor {
    return super.forward(x);
  }

  override forward(x: Tensor): Tensor {
    return this.site.run(x, this.forwardBase(x));
  }
}
