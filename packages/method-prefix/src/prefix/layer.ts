import { Linear, Module, ModuleDict, noGrad, randn, type AttentionSite } from '@adapterkit/core';

/**
 * Prefix tuning's part of one attention layer (Python `PrefixTuningLayer`),
 * registered as the attention module's child `prefix_tuning`: which adapters
 * add a prefix here (name → this layer's index among the layers the adapter's
 * pool module serves) and the optional gates
 * (`…attention.self.prefix_tuning.prefix_gates.<name>.{weight,bias}`).
 */
export class PrefixTuningLayer extends Module {
  /** Adapter name → index of this layer in the adapter's prefix module. */
  readonly prefixes = new Map<string, number>();
  readonly prefix_gates: ModuleDict<Linear>;

  constructor(readonly site: AttentionSite) {
    super();
    this.prefix_gates = this.registerModule('prefix_gates', new ModuleDict<Linear>());
  }

  /** Adds a gate Linear(hidden, 1 shared | 2) with weight N(0, 0.02²) as Python. */
  addGate(name: string, shared: boolean): Linear {
    const gate = new Linear(this.site.hiddenSize, shared ? 1 : 2);
    noGrad(() => {
      const w = randn(gate.weight.shape, { std: 0.02 });
      gate.weight.assign(w);
      w.dispose();
    });
    return this.prefix_gates.set(name, gate);
  }

  /** Removes an adapter's entry and gate (freeing the gate's weights). */
  remove(name: string): void {
    this.prefixes.delete(name);
    this.prefix_gates.delete(name)?.dispose();
  }
}

/** The site's prefix layer, created (and registered on the attention module) on first use. */
export function prefixLayerOf(site: AttentionSite, create: boolean): PrefixTuningLayer | undefined {
  const existing = site.owner.child<PrefixTuningLayer>('prefix_tuning');
  if (existing || !create) return existing;
  const layer = new PrefixTuningLayer(site);
  layer.train(site.owner.training);
  return site.owner.registerModule('prefix_tuning', layer);
}
