import {
  Module, ModuleDict, registerMethod, type AdapterConfig, type AdapterHost, type AdapterMethod, type BlockType, type EmbeddingSite,
  type LmHeadSite, type ResidualSite, type Tensor,
} from '@adapterkit/core';
import { BottleneckAdapter, ParallelBottleneckAdapter, bottleneckSize } from './adapter.js';
import { bottleneckBlocks, composeBlock, type BottleneckSiteView, type BottleneckState } from './composition.js';
import { registerBottleneckConfigs } from './config.js';
import { createInvertibleBlock, type InvertibleBlock } from './invertible.js';
import { SharedPhmParameters } from './phm.js';

/** Method (hook) name at the sites, and the architecture key of the family. */
export const BOTTLENECK = 'bottleneck';

/** Python attribute names of the BottleneckLayer on owners with several residual sites (Llama's decoder layer). */
const HOLDER_BY_LOCATION: Record<string, string> = {
  mh_adapter: 'attention_adapters',
  output_adapter: 'output_adapters',
  cross_adapter: 'cross_attention_adapters',
};

/** A Python `BottleneckLayer` attached as a child (Llama: `layers.N.attention_adapters`). */
export class BottleneckLayerModule extends Module {}

/**
 * The module that holds `adapters` for a residual site, as Python names it:
 * BERT-style sub-layer modules *are* the BottleneckLayer (BertSelfOutput →
 * `attention.output.adapters.<name>`), so the site's owner holds them when it
 * owns one residual site; an owner with several (Llama's decoder layer) gets
 * one child per location (`attention_adapters`, `output_adapters`).
 */
export function bottleneckHolder(site: ResidualSite, create = false): Module | undefined {
  const owner = site.owner as Module & { adapterSites?: readonly { kind: string }[] };
  const residualSites = (owner.adapterSites ?? []).filter((s) => s.kind === 'residual').length;
  if (residualSites <= 1) return owner;
  const name = HOLDER_BY_LOCATION[site.location];
  if (!name) throw new Error(`bottleneck adapters: no holder name for residual location '${site.location}'`);
  let holder = owner.child(name);
  if (!holder && create) holder = owner.registerModule(name, new BottleneckLayerModule());
  return holder;
}

/** The `adapters` ModuleDict of a residual site (created on demand). */
export function siteAdapters(site: ResidualSite, create = false): ModuleDict<BottleneckAdapter> | undefined {
  const holder = bottleneckHolder(site, create);
  if (!holder) return undefined;
  let dict = holder.child<ModuleDict<BottleneckAdapter>>('adapters');
  if (!dict && create) dict = holder.registerModule('adapters', new ModuleDict<BottleneckAdapter>());
  return dict;
}

function embeddingSite(host: AdapterHost): EmbeddingSite | undefined {
  return host.sitesOf('embeddings')[0];
}

/** The model-level `invertible_adapters` ModuleDict (on the embedding site's owner: the base model). */
export function invertibleAdapters(host: AdapterHost, create = false): ModuleDict<InvertibleBlock & Module> | undefined {
  const site = embeddingSite(host);
  if (!site) return undefined;
  let dict = site.owner.child<ModuleDict<InvertibleBlock & Module>>('invertible_adapters');
  if (!dict && create) dict = site.owner.registerModule('invertible_adapters', new ModuleDict<InvertibleBlock & Module>());
  return dict;
}

/** The base model's `shared_parameters` container (shared with other methods, e.g. VeRA). */
function sharedParameters(host: AdapterHost, create = false): Module | undefined {
  const base = host.info.base;
  let dict = base.child('shared_parameters');
  if (!dict && create) dict = base.registerModule('shared_parameters', new ModuleDict());
  return dict;
}

/** Reduction factor of one layer: a number, or the mapping's entry for the layer or its 'default'. */
export function reductionFactorFor(config: AdapterConfig, layer: number): number {
  const rf = config.fields.reduction_factor;
  if (typeof rf === 'number') return rf;
  const map = rf as Record<string, number>;
  if (String(layer) in map) return map[String(layer)]!;
  if ('default' in map) return map.default!;
  throw new Error(`bottleneck adapter: reduction_factor mapping ${JSON.stringify(map)} has no entry for layer ${layer} and no 'default'; ` +
    `give each layer or a default, e.g. {"${layer}": 16, "default": 16}`);
}

/** Residual sites an adapter of this config goes to (location flags and leave_out). */
function matchingSites(host: AdapterHost, config: AdapterConfig): ResidualSite[] {
  const leaveOut = new Set(config.fields.leave_out as number[]);
  return host.sitesOf('residual').filter((s) => config.fields[s.location] === true && !leaveOut.has(s.layer));
}

/**
 * The residual-site hook: nothing when no adapter of the setup lives here;
 * otherwise the setup is evaluated (composeBlock) and the last adapter's
 * `postForward` closes the sub-layer.
 */
function residualHook(site: ResidualSite): Parameters<ResidualSite['attach']>[1] {
  return ({ hidden, residual, layerNorm, setup }) => {
    const adapters = siteAdapters(site);
    if (!adapters || !setup.flatten().some((n) => adapters.has(n))) return null;
    const view: BottleneckSiteView = { adapters, layer: site.layer, location: site.location, site };
    const start: BottleneckState = { hidden, inputTensor: residual, adapterResidual: residual, layerNorm, bottleneckUp: null, last: null };
    const end = composeBlock(view, setup, start, 0);
    if (!end.last) return null;
    return adapters.get(end.last)!.postForward(end.hidden, hidden, end.inputTensor, layerNorm);
  };
}

/** Runs the invertible adapter of the setup's first adapter, if it has one (Python `invertible_adapters_forward`). */
function invertibleFor(host: AdapterHost, setupFirst: string | undefined): (InvertibleBlock & Module) | undefined {
  return setupFirst === undefined ? undefined : invertibleAdapters(host)?.get(setupFirst);
}

/**
 * The reverse direction of the active setup's invertible adapter, for LM
 * heads: apply it to the hidden states just before the vocabulary projection
 * (Python runs `invertible_adapters(x, rev=True)` there). Returns `hidden`
 * unchanged when no invertible adapter is active.
 */
export function invertReverse(host: AdapterHost, hidden: Tensor): Tensor {
  const block = invertibleFor(host, host.currentSetup()?.first());
  return block ? block.forward(hidden, true) : hidden;
}

function attachInvertibleHooks(host: AdapterHost): void {
  const emb = embeddingSite(host);
  emb?.attach(BOTTLENECK, ({ hidden, attentionMask, setup }) => {
    const block = invertibleFor(host, setup.first());
    return block ? { hidden: block.forward(hidden, false), attentionMask } : null;
  });
  for (const site of host.sitesOf('lm_head') as LmHeadSite[]) {
    site.attach(BOTTLENECK, ({ hidden, setup }) => {
      const block = invertibleFor(host, setup.first());
      return block ? block.forward(hidden, true) : null;
    });
  }
}

function addAdapter(host: AdapterHost, name: string, config: AdapterConfig): void {
  const f = config.fields;
  const hiddenSize = host.info.hiddenSize;
  const sites = matchingSites(host, config);
  const sizes = sites.map((s) => bottleneckSize(hiddenSize, reductionFactorFor(config, s.layer)));

  let shared: SharedPhmParameters | null = null;
  if (f.phm_layer && (f.shared_phm_rule || f.shared_W_phm)) {
    if (f.shared_W_phm && new Set(sizes).size > 1) {
      throw new Error(`Compacter adapter '${name}': shared_W_phm needs one bottleneck size for all layers, got ${[...new Set(sizes)].join(', ')}`);
    }
    // Python's match() refuses two Compacter members in one union as well.
    if (sharedParameters(host)?.child(name)) throw new Error(`Compacter adapter '${name}': shared parameters of that name exist already (only one Compacter config per adapter)`);
    const fallback = bottleneckSize(hiddenSize, typeof f.reduction_factor === 'number' ? f.reduction_factor : reductionFactorFor(config, 0));
    shared = sharedParameters(host, true)!.registerModule(name, new SharedPhmParameters(config, hiddenSize, sizes[0] ?? fallback));
  }

  sites.forEach((site, i) => {
    const Cls = f.is_parallel ? ParallelBottleneckAdapter : BottleneckAdapter;
    const adapter = new Cls(name, hiddenSize, sizes[i]!, config, shared);
    adapter.train(site.owner.training);
    siteAdapters(site, true)!.set(name, adapter);
    site.attach(BOTTLENECK, residualHook(site));
  });

  if (f.inv_adapter) {
    if (invertibleAdapters(host)?.has(name)) throw new Error(`bottleneck adapter '${name}': it has an invertible adapter already (only one inv_adapter config per adapter)`);
    if (!embeddingSite(host)) throw new Error(`bottleneck adapter '${name}': inv_adapter needs an 'embeddings' site, which model type '${host.info.modelType}' lacks`);
    const block = createInvertibleBlock(f.inv_adapter as string, hiddenSize, f.non_linearity as string | null, f.inv_adapter_reduction_factor as number);
    block.train(embeddingSite(host)!.owner.training);
    invertibleAdapters(host, true)!.set(name, block);
    attachInvertibleHooks(host);
  }
}

function deleteAdapter(host: AdapterHost, name: string): void {
  for (const site of host.sitesOf('residual')) {
    const dict = siteAdapters(site);
    const m = dict?.delete(name);
    m?.dispose();
    if (dict && dict.size === 0) site.detach(BOTTLENECK);
  }
  invertibleAdapters(host)?.delete(name)?.dispose();
  const shared = sharedParameters(host);
  const s = shared?.child(name);
  if (s instanceof SharedPhmParameters) {
    shared!.removeModule(name);
    s.dispose();
  }
}

function hasAdapter(host: AdapterHost, name: string): boolean {
  return host.sitesOf('residual').some((s) => siteAdapters(s)?.has(name)) || !!invertibleAdapters(host)?.has(name);
}

/** Whether the bottleneck member of adapter `name`'s config has `ln_before`. */
function hasLnBefore(host: AdapterHost, name: string): boolean {
  return host.methodsOf(name).some(({ method, config }) => method.architecture === BOTTLENECK && config.fields.ln_before === true);
}

/**
 * With `ln_before` Python registers the input LayerNorm twice
 * (`adapter_norm_before` and `adapter_down.0`), so files written from its
 * state dict may hold either name or both; both load into
 * `adapter_norm_before` (the name listed here and saved).
 */
function canonicalKey(key: string, host: AdapterHost, name: string): string {
  if (!key.includes('adapter_down.0.') || !hasLnBefore(host, name)) return key;
  return key.replace(/(\.adapters\.[^.]+\.)adapter_down\.0\.(weight|bias)$/, '$1adapter_norm_before.$2');
}

/** The bottleneck family as an adapter-host method plugin. */
export const bottleneckMethod: AdapterMethod = {
  architecture: BOTTLENECK,
  get supportedBlocks(): readonly BlockType[] {
    return bottleneckBlocks();
  },
  addAdapter,
  deleteAdapter,
  // Python AdapterLoader.filter_func's segments for this family; shared_parameters without the leading
  // dot so a bare base model (no 'bert.' prefix) finds its Compacter rule too.
  weightMarkers: (name) => [`.adapters.${name}.`, `_adapters.${name}.`, `shared_parameters.${name}.`],
  hasAdapter,
  canonicalKey,
};

let registered = false;

/** Registers the bottleneck config schema, presets and method (idempotent; importing the package does it). */
export function registerBottleneckMethod(): void {
  if (registered) return;
  registered = true;
  registerBottleneckConfigs();
  registerMethod(bottleneckMethod);
}
