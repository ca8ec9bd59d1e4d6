import {
  type AdapterConfig, type AdapterHost, type AdapterMethod, type AttentionHook, type AttentionSite, type BlockType,
} from '@adapterkit/core';
import { composePrefix, prefixSupportedBlocks, type PrefixComposeContext } from './compose.js';
import { PREFIX_TUNING, prefixSettings } from './config.js';
import { prefixLayerOf, type PrefixTuningLayer } from './layer.js';
import { FlatPrefixTuning, PrefixTuning, PrefixTuningGroup, splitPrefix, type PrefixGeometry, type PrefixKV } from './modules.js';
import { ejectBeforeSave, restoreAfterSave } from './eject.js';
import { prefixPoolOf } from './pool.js';

/**
 * Whether a site at `location` takes a prefix: encoder-decoder models gate
 * their 'encoder_prefix' / 'cross_prefix' sites with the config flag of that
 * name; 'self_prefix' is always on (Python PrefixTuningLayer.add_adapter).
 */
function locationEnabled(location: string, config: AdapterConfig): boolean {
  if (location.startsWith('cross') || location.startsWith('encoder')) return Boolean(config.fields[location]);
  return true;
}

/** The sites an adapter adds a prefix to, grouped by location key, in model order. */
function sitesFor(host: AdapterHost, config: AdapterConfig): Map<string, AttentionSite[]> {
  const leaveOut = new Set(config.fields.leave_out as number[]);
  const byLocation = new Map<string, AttentionSite[]>();
  for (const site of host.sitesOf('attention')) {
    if (leaveOut.has(site.layer) || !locationEnabled(site.location, config)) continue;
    const list = byLocation.get(site.location) ?? [];
    list.push(site);
    byLocation.set(site.location, list);
  }
  return byLocation;
}

/** Key/value geometry shared by the sites of one location; an error when they differ. */
function geometryOf(host: AdapterHost, location: string, sites: AttentionSite[]): PrefixGeometry {
  const first = sites[0]!;
  for (const s of sites) {
    if (s.numKvHeads !== first.numKvHeads || s.headDim !== first.headDim) {
      throw new Error(`prefix tuning: attention layers at '${location}' differ in key/value heads or head size (layer ${first.layer}: ${first.numKvHeads}×${first.headDim}, layer ${s.layer}: ${s.numKvHeads}×${s.headDim})`);
    }
  }
  return { nLayers: sites.length, nHeads: first.numKvHeads, headDim: first.headDim, inputSize: host.info.hiddenSize };
}

/** This layer's keys/values of adapter `name`, from the per-pass cache when the model runs in a forward context. */
function prefixAt(host: AdapterHost, site: AttentionSite, layer: PrefixTuningLayer, name: string, batch: number): PrefixKV {
  const module = prefixPoolOf(host, false)?.prefix_tunings.get(name)?.get(site.location);
  const index = layer.prefixes.get(name);
  if (!module || index === undefined) throw new Error(`prefix tuning: adapter '${name}' has no prefix at layer ${site.layer} (${site.location})`);
  const compute = (): PrefixKV[] => splitPrefix(module.rows(), module.geometry, batch, module.dropout);
  const context = host.currentContext();
  // All layers' prefixes come from one MLP pass: compute them at the first layer, keep them for the pass.
  const all = context
    ? context.cached(`prefix_tuning:${name}:${site.location}:${batch}`, () => {
      const kv = compute();
      for (const p of kv) {
        context.hold(p.key);
        context.hold(p.value);
      }
      return kv;
    })
    : compute();
  return all[index]!;
}

/** The attention hook of one site: a no-op unless the setup names an adapter with a prefix here. */
function attentionHook(host: AdapterHost, site: AttentionSite): AttentionHook {
  return ({ key, value, mask, hiddenStates, setup }) => {
    const layer = prefixLayerOf(site, false);
    if (!layer || !setup.flatten().some((n) => layer.prefixes.has(n))) return null;
    const ctx: PrefixComposeContext = {
      layer,
      prefixOf: (name, batch) => prefixAt(host, site, layer, name, batch),
      compose: (child, state) => composePrefix(child, state, ctx),
    };
    const out = ctx.compose(setup, { key, value, mask, hidden: hiddenStates });
    return { key: out.key, value: out.value, mask: out.mask };
  };
}

function addPrefixTuning(host: AdapterHost, name: string, config: AdapterConfig): void {
  const settings = prefixSettings(config);
  const byLocation = sitesFor(host, config);
  if (byLocation.size === 0) {
    const all = host.sitesOf('attention').length;
    throw new Error(`prefix tuning '${name}': no attention layer takes a prefix (the model has ${all} attention sites; leave_out ${JSON.stringify(config.fields.leave_out)})`);
  }
  const pool = prefixPoolOf(host, true)!;
  const group = new PrefixTuningGroup();
  for (const [location, sites] of byLocation) {
    // Gates first, then the prefix module, in Python's order of creation.
    sites.forEach((site, i) => {
      const layer = prefixLayerOf(site, true)!;
      layer.prefixes.set(name, i);
      if (settings.useGating) layer.addGate(name, settings.sharedGating).train(site.owner.training);
      if (!site.hookOf(PREFIX_TUNING)) site.attach(PREFIX_TUNING, attentionHook(host, site));
    });
    const geometry = geometryOf(host, location, sites);
    group.set(location, settings.flat ? new FlatPrefixTuning(geometry, settings) : new PrefixTuning(geometry, settings));
  }
  group.train(host.info.base.training);
  pool.prefix_tunings.set(name, group);
  host.root.nameParameters();
}

function deletePrefixTuning(host: AdapterHost, name: string): void {
  prefixPoolOf(host, false)?.prefix_tunings.delete(name)?.dispose();
  for (const site of host.sitesOf('attention')) prefixLayerOf(site, false)?.remove(name);
}

/**
 * Prefix tuning (Li & Liang 2021) as in Python's `adapters`: one pool module
 * on the base model computes the prefixes of every attention layer once per
 * forward pass; each attention site prepends its layer's keys/values.
 */
export const prefixTuningMethod: AdapterMethod = {
  architecture: PREFIX_TUNING,
  get supportedBlocks(): readonly BlockType[] {
    return prefixSupportedBlocks();
  },
  addAdapter: addPrefixTuning,
  deleteAdapter: deletePrefixTuning,
  weightMarkers: (name) => [`.prefix_tunings.${name}.`, `.prefix_gates.${name}.`],
  hasAdapter: (host, name) => prefixPoolOf(host, false)?.prefix_tunings.has(name) ?? false,
  beforeSave: ejectBeforeSave,
  afterSave: restoreAfterSave,
  // Python registers the pool under every attention layer too (`…attention.self.prefix_tuning.pool.…`),
  // so its state dict holds each prefix weight once per layer as well; those copies load as the pool's.
  canonicalKey: (key) => {
    const marker = '.prefix_tuning.pool.prefix_tunings.';
    const at = key.indexOf(marker);
    return at < 0 ? key : `prefix_tuning.prefix_tunings.${key.slice(at + marker.length)}`;
  },
};
