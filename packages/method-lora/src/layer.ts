import { ModuleDict, type LinearSite, type Tensor } from '@adapterkit/core';
import type { LoRALike } from './modules.js';

/** Name of the per-adapter module dict on a projection (Python `LoRALayer.loras`). */
export const LORAS = 'loras';
/** Key the LoRA family's hook is attached under at linear sites. */
export const HOOK_KEY = 'lora';

/** What a merge replaced, to restore on reset. */
export interface MergedState {
  name: string;
  /** The original weight/bias (same storage, kept alive), or null when reset recomputes the inverse. */
  weight: Tensor | null;
  bias: Tensor | null;
}

/** The projection a LoRA layer adapts: a Linear that is also a linear site. */
export interface AdaptedLinear {
  weight: Tensor;
  bias: Tensor | null;
}

/**
 * The `loras` dict registered on an adapted projection: adapter name → LoRA /
 * IA³ module, so weights are named `…query.loras.<name>.lora_A` as in Python.
 * It also records which adapter (if any) is merged into the projection.
 */
export class LoRALayer extends ModuleDict<LoRALike> {
  merged: MergedState | null = null;

  constructor(readonly site: LinearSite) {
    super();
  }

  /** The adapted projection (weight [out, in], bias [out] or null). */
  get linear(): AdaptedLinear {
    return this.site.owner as unknown as AdaptedLinear;
  }

  /** Where this layer sits, for messages: 'layer 3 selfattn.q'. */
  describe(): string {
    return `layer ${this.site.layer} ${this.site.location}${this.site.key ? `.${this.site.key}` : ''}`;
  }
}

/** The LoRA layer of a linear site, if any adapter of the family is there. */
export function layerOf(site: LinearSite): LoRALayer | undefined {
  const m = site.owner.child(LORAS);
  return m instanceof LoRALayer ? m : undefined;
}
