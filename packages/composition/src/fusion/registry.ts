import { bottleneckHolder } from '@adapterkit/method-bottleneck';
import {
  AdapterConfig, ConfigUnion, Fuse, ModuleDict, type AdapterHost, type AdapterSetup, type FusionSpec, type Module, type ResidualSite,
} from '@adapterkit/core';
import type { AdapterFusionConfig } from './config.js';
import { AdapterFusionLayer } from './layer.js';

/** Name of the ModuleDict of fusion layers on a bottleneck holder (Python `BottleneckLayer.adapter_fusion_layer`). */
export const FUSION_HOLDER = 'adapter_fusion_layer';

/** One AdapterFusion of a model (Python keeps these in ModelAdaptersConfig.fusions / fusion_name_map). */
export interface FusionEntry {
  readonly name: string;
  /** The fused adapters, in order. */
  readonly adapterNames: readonly string[];
  readonly config: AdapterFusionConfig;
}

const registries = new WeakMap<AdapterHost, Map<string, FusionEntry>>();

/** The fusions of a model by name (created empty on first use). */
export function fusionsOf(host: AdapterHost): Map<string, FusionEntry> {
  let m = registries.get(host);
  if (!m) registries.set(host, (m = new Map()));
  return m;
}

/** The fusion name and fused adapters of a spec: a Fuse block, a name list, or 'a,b' (Python add_adapter_fusion). */
export function resolveFusionSpec(spec: FusionSpec, customName?: string): { name: string; adapterNames: string[] } {
  let names: string[];
  let name = customName;
  if (spec instanceof Fuse) {
    // A Stack child of a Fuse contributes its last adapter (as Fuse.name does).
    names = spec.children.map((c: AdapterSetup) => (typeof c === 'string' ? c : c.last()));
    name ??= spec.name;
  } else if (typeof spec === 'string') {
    names = spec.split(',');
  } else if (Array.isArray(spec)) {
    names = [...spec];
  } else {
    throw new Error(`AdapterFusion: expected a Fuse block, a list of adapter names or 'a,b', got ${String(spec)}`);
  }
  if (!names.length || names.some((n) => !n)) throw new Error(`AdapterFusion: invalid adapter names [${names.join(', ')}]`);
  return { name: name ?? names.join(','), adapterNames: names };
}

/** The name of an existing fusion from a spec (a Fuse's custom name, names joined by ',', or the name itself). */
export function fusionNameOf(spec: FusionSpec): string {
  if (spec instanceof Fuse) return spec.name;
  if (typeof spec === 'string') return spec;
  if (Array.isArray(spec)) return spec.join(',');
  throw new Error(`AdapterFusion: expected a Fuse block, a list of adapter names or a fusion name, got ${String(spec)}`);
}

/** The bottleneck member of an adapter's config (Fuse works on bottleneck adapters only). */
export function bottleneckConfigOf(host: AdapterHost, name: string, where: string): AdapterConfig {
  const c = host.configs.get(name);
  if (!c) throw new Error(`${where}: adapter '${name}' does not exist; adapters: ${host.adapterNames().join(', ') || 'none'} (load or add the adapters before the fusion)`);
  const members = c instanceof ConfigUnion ? c.configs : [c];
  const bn = members.find((m) => m.architecture === null || m.architecture === 'bottleneck');
  if (!bn) throw new Error(`${where}: adapter '${name}' is a ${members.map((m) => m.architecture).join('|')} adapter; AdapterFusion fuses bottleneck adapters only`);
  return bn;
}

/**
 * Whether the fused adapters all sit at a residual location (Python
 * `common_config_value`): every adapter must have the same value of the
 * location flag, and a fusion layer goes where that value is true.
 */
export function fusionAtLocation(host: AdapterHost, adapterNames: readonly string[], location: string, where: string): boolean {
  const values = adapterNames.map((n) => bottleneckConfigOf(host, n, where).fields[location] ?? null);
  if (values.some((v) => v !== values[0])) {
    throw new Error(`${where}: all fused adapters must have the same '${location}' setting, got ${adapterNames.map((n, i) => `${n}: ${String(values[i])}`).join(', ')}`);
  }
  return values[0] === true;
}

/** The fusion-layer dict of a residual site (created on demand). */
export function fusionDict(site: ResidualSite, create = false): ModuleDict<AdapterFusionLayer> | undefined {
  const holder: Module | undefined = bottleneckHolder(site, create);
  if (!holder) return undefined;
  let dict = holder.child<ModuleDict<AdapterFusionLayer>>(FUSION_HOLDER);
  if (!dict && create) dict = holder.registerModule(FUSION_HOLDER, new ModuleDict<AdapterFusionLayer>());
  return dict;
}

/** The fusion layer `name` at a residual site, if any. */
export function fusionLayerAt(site: ResidualSite, name: string): AdapterFusionLayer | undefined {
  return fusionDict(site)?.get(name);
}

/** Every fusion layer of a model with its site: [site, fusion name, layer]. */
export function allFusionLayers(host: AdapterHost): [ResidualSite, string, AdapterFusionLayer][] {
  const out: [ResidualSite, string, AdapterFusionLayer][] = [];
  for (const site of host.sitesOf('residual')) {
    for (const [name, layer] of fusionDict(site)?.entries() ?? []) out.push([site, name, layer]);
  }
  return out;
}
