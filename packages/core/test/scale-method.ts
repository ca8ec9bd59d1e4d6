import {
  ModuleDict, Module, Parameter, add, full, mul, registerConfigPreset, registerConfigSchema, registerMethod,
  type AdapterHost, type AdapterMethod, type ConfigValue, type ResidualSite,
} from '../src/index.js';

/** One learned scalar of the test method. */
export class ScaleModule extends Module {
  readonly s: Parameter;
  constructor(init: number) {
    super();
    this.s = this.registerParameter('s', new Parameter(full([1], init)));
  }
}

/**
 * Registers a minimal adapter method for host tests under `architecture`: a
 * learned scalar per residual site, out = LN(h·(1+s) + x), honouring
 * `leave_out` when its defaults have one. Real methods live in their own packages.
 */
export function registerScaleMethod(architecture: string, className: string, defaults: Record<string, ConfigValue>): AdapterMethod {
  const method: AdapterMethod = {
    architecture,
    supportedBlocks: ['Stack'],
    addAdapter(host: AdapterHost, name, config) {
      const leaveOut = (config.fields.leave_out as number[] | undefined) ?? [];
      for (const site of host.sitesOf('residual')) {
        if (leaveOut.includes(site.layer)) continue;
        let dict = site.owner.child<ModuleDict<ScaleModule>>('adapters');
        if (!dict) dict = site.owner.registerModule('adapters', new ModuleDict<ScaleModule>());
        dict.set(name, new ScaleModule(config.fields.init as number));
        (site as ResidualSite).attach(architecture, ({ hidden, residual, layerNorm, setup }) => {
          const m = setup.flatten().map((n) => dict!.get(n)).find(Boolean);
          if (!m) return null;
          const y = add(mul(hidden, add(m.s, 1)), residual);
          return layerNorm ? layerNorm(y) : y;
        });
      }
    },
    deleteAdapter(host, name) {
      for (const site of host.sitesOf('residual')) site.owner.child<ModuleDict>('adapters')?.delete(name);
    },
    weightMarkers: (name) => [`.adapters.${name}.`],
    hasAdapter: (host, name) => host.sitesOf('residual').some((s) => s.owner.child<ModuleDict>('adapters')?.has(name)),
  };
  registerConfigSchema({ architecture, className, defaults, floatFields: ['init'] });
  registerConfigPreset(architecture, architecture, {});
  registerMethod(method);
  return method;
}
