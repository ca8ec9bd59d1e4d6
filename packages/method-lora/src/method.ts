import { isFloat, type AdapterConfig, type AdapterHost, type AdapterMethod, type Backend, type BlockType, type LinearSite, type Tensor } from '@adapterkit/core';
import { LORA_ARCHITECTURE, TORCH_DTYPES } from './config.js';
import { loraSupportedBlocks, makeLoRAHook } from './compose.js';
import { HOOK_KEY, LORAS, LoRALayer, layerOf } from './layer.js';
import { mergeAdapter, resetAdapter, resetLayerIfMerged, type MergeOptions } from './merge.js';
import { IA3, LoRA, type LoRALike } from './modules.js';
import type { InitTarget } from './init.js';

/**
 * Whether a config adapts a linear site (Python LoRALayer.add_adapter +
 * ModelAdaptersConfig.match): the location's flag is on, the layer is not in
 * leave_out, and an attention projection's key is in attn_matrices.
 */
export function configWantsSite(config: AdapterConfig, site: LinearSite): boolean {
  if (config.get<number[]>('leave_out').includes(site.layer)) return false;
  switch (site.location) {
    case 'selfattn':
      return config.get<boolean>('selfattn_lora') && (site.key === undefined || config.get<string[]>('attn_matrices').includes(site.key));
    case 'intermediate':
      return config.get<boolean>('intermediate_lora');
    case 'output':
      return config.get<boolean>('output_lora');
    default:
      return false;
  }
}

/** Throws for configs this package cannot build yet. */
function checkSupported(config: AdapterConfig, name: string): void {
  if (config.get('vera_d') !== null || config.get('vera_b') !== null) {
    throw new Error(`addAdapter '${name}': VeRA (vera_d / vera_b set; presets 'vera', 'dvora') is not supported yet by @adapterkit/method-lora; use 'lora', 'ia3' or 'dora'`);
  }
}

/**
 * The projection's sizes, backend and dense weight. A projection whose
 * weight is stored quantized (@adapterkit/quant's QuantLinear: no dense
 * `weight`, but `inFeatures` / `outFeatures` / `dequantizeWeight()`) gives
 * its sizes and no dense weight (LoRA / IA³ attach; DoRA needs the dense weight).
 */
function projectionOf(site: LinearSite): { out: number; inF: number; backend: Backend; weight: Tensor | null } {
  const owner = site.owner as unknown as { weight?: Tensor; inFeatures?: unknown; outFeatures?: unknown; dequantizeWeight?: unknown };
  const w = owner.weight;
  if (w && w.rank === 2 && isFloat(w.dtype)) return { out: w.shape[0]!, inF: w.shape[1]!, backend: w.backend, weight: w };
  const any = site.owner.parameters()[0] ?? site.owner.namedBuffers()[0]?.[1];
  if (typeof owner.inFeatures === 'number' && typeof owner.outFeatures === 'number' && typeof owner.dequantizeWeight === 'function' && any) {
    return { out: owner.outFeatures, inF: owner.inFeatures, backend: any.backend, weight: null };
  }
  throw new Error(`LoRA: the projection at layer ${site.layer} ${site.location} has no [out, in] weight`);
}

function createModule(site: LinearSite, config: AdapterConfig): LoRALike {
  const { out, inF, backend, weight } = projectionOf(site);
  if (!weight && config.get<boolean>('use_dora')) throw new Error(`LoRA: DoRA needs the dense base weight; the projection at layer ${site.layer} ${site.location} is quantized`);
  const dtypeName = config.get<string | null>('dtype');
  const target: InitTarget = { backend, dtype: dtypeName ? TORCH_DTYPES[dtypeName]! : 'f32', seed: config.get<number | null>('init_weights_seed') };
  const m = config.get('composition_mode') === 'scale' ? new IA3(inF, out, config, target) : new LoRA(inF, out, config, target, weight ?? undefined);
  // New modules follow the model's mode (Python: lora.train(self.training)).
  m.train(site.owner.training);
  return m;
}

/**
 * The LoRA family as an adapter method plugin: LoRA, (IA)³ (composition_mode
 * 'scale') and DoRA (use_dora) at the model's linear sites, plus merging.
 */
export class LoRAMethod implements AdapterMethod {
  readonly architecture = LORA_ARCHITECTURE;

  /** The blocks with a registered evaluator (compose.ts): Stack for now. */
  get supportedBlocks(): readonly BlockType[] {
    return loraSupportedBlocks();
  }

  addAdapter(host: AdapterHost, name: string, config: AdapterConfig): void {
    checkSupported(config, name);
    for (const site of host.sitesOf('linear')) {
      if (!configWantsSite(config, site)) continue;
      let layer = layerOf(site);
      if (layer?.has(name)) {
        // Two members of one union (separated by leave_out) both match here.
        throw new Error(`addAdapter '${name}': multiple LoRA definitions conflict at layer ${site.layer} ${site.location}${site.key ? `.${site.key}` : ''}; use only one per location`);
      }
      const module = createModule(site, config);
      if (!layer) {
        layer = site.owner.registerModule(LORAS, new LoRALayer(site));
        site.attach(HOOK_KEY, makeLoRAHook(layer, site));
      }
      layer.set(name, module);
    }
  }

  deleteAdapter(host: AdapterHost, name: string): void {
    for (const site of host.sitesOf('linear')) {
      const layer = layerOf(site);
      if (!layer?.has(name)) continue;
      // Deleting a merged adapter first restores the weights it changed.
      resetLayerIfMerged(layer, name);
      layer.delete(name)?.dispose();
      if (layer.size === 0) {
        site.detach(HOOK_KEY);
        site.owner.removeModule(LORAS);
      }
    }
  }

  weightMarkers(name: string): string[] {
    return [`.${LORAS}.${name}.`];
  }

  hasAdapter(host: AdapterHost, name: string): boolean {
    return host.sitesOf('linear').some((s) => layerOf(s)?.has(name) ?? false);
  }

  /** Host-level merge (see `mergeAdapter`). */
  mergeAdapter(host: AdapterHost, name: string, opts?: MergeOptions): void {
    mergeAdapter(host, name, opts);
  }

  /** Host-level reset (see `resetAdapter`). */
  resetAdapter(host: AdapterHost, name?: string): void {
    resetAdapter(host, name);
  }
}

/** The registered method instance. */
export const loraMethod = new LoRAMethod();
