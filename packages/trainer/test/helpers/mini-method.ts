import {
  Linear,
  Module,
  ModuleDict,
  add,
  registerConfigPreset,
  registerConfigSchema,
  registerMethod,
  relu,
  registeredMethods,
  type AdapterHost,
  type AdapterMethod,
  type ResidualSite,
  type Tensor,
} from '@adapterkit/core';

/**
 * A small bottleneck adapter used only by these tests, so they do not depend
 * on @adapterkit/method-bottleneck: at every 'output_adapter' residual site,
 * out = LN(h + up(relu(down(h))) + residual) with down [h/r] and up.
 * Registered as architecture 'test_bn' (preset 'test_bn').
 */
class MiniBottleneck extends Module {
  readonly down: Linear;
  readonly up: Linear;
  constructor(hidden: number, bottleneck: number) {
    super();
    this.down = this.registerModule('adapter_down', new Linear(hidden, bottleneck));
    this.up = this.registerModule('adapter_up', new Linear(bottleneck, hidden));
  }
  forward(h: Tensor): Tensor {
    return add(h, this.up.forward(relu(this.down.forward(h))));
  }
}

const method: AdapterMethod = {
  architecture: 'test_bn',
  supportedBlocks: ['Stack'],
  addAdapter(host: AdapterHost, name, config) {
    const r = config.fields.reduction_factor as number;
    for (const site of host.sitesOf('residual', 'output_adapter')) {
      if ((config.fields.leave_out as number[]).includes(site.layer)) continue;
      let dict = site.owner.child<ModuleDict<MiniBottleneck>>('adapters');
      if (!dict) dict = site.owner.registerModule('adapters', new ModuleDict<MiniBottleneck>());
      dict.set(name, new MiniBottleneck(host.info.hiddenSize, Math.max(1, Math.floor(host.info.hiddenSize / r))));
      (site as ResidualSite).attach('test_bn', ({ hidden, residual, layerNorm, setup }) => {
        const m = setup.flatten().map((n) => dict!.get(n)).find(Boolean);
        if (!m) return null;
        const y = add(m.forward(hidden), residual);
        return layerNorm ? layerNorm(y) : y;
      });
    }
  },
  deleteAdapter(host, name) {
    for (const site of host.sitesOf('residual', 'output_adapter')) site.owner.child<ModuleDict>('adapters')?.delete(name);
  },
  weightMarkers: (name) => [`.adapters.${name}.`],
  hasAdapter: (host, name) => host.sitesOf('residual', 'output_adapter').some((s) => s.owner.child<ModuleDict>('adapters')?.has(name)),
};

/** Registers the test method once. */
export function registerMiniMethod(): void {
  if (registeredMethods().some((m) => m.architecture === 'test_bn')) return;
  registerConfigSchema({ architecture: 'test_bn', className: 'TestBnConfig', defaults: { reduction_factor: 4, leave_out: [] } });
  registerConfigPreset('test_bn', 'test_bn', {});
  registerMethod(method);
}
