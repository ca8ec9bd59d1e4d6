import type { Module } from '../nn/module.js';
import type { BaseModel } from '../models/types.js';
import type { AdapterSetup, CompositionBlock } from './composition.js';
import type { AdapterConfigLike } from './config.js';
import {
  compositionPlugin, type AddFusionOptions, type FusionConfigLike, type FusionSpec, type LoadFusionOptions, type LoadSetupOptions,
  type LoadedSetup, type SaveFusionOptions, type SaveSetupOptions, type TrainFusionOptions,
} from './composition-plugin.js';
import { AdapterHost, type AddAdapterOptions, type AdapterModelInfo } from './host.js';
import { adapterFiles, loadAdapter, saveAdapter, saveAllAdapters, type LoadAdapterOptions, type SaveAdapterOptions } from './save-load.js';
import { adapterSummaryRows, formatAdapterSummary, type AdapterSummaryRow } from './summary.js';

/** The adapter methods a model gains from `initAdapters` (camelCase versions of the Python API). */
export interface AdapterModelApi {
  readonly adapterHost: AdapterHost;
  addAdapter(name: string, config?: AdapterConfigLike, opts?: AddAdapterOptions): void;
  deleteAdapter(name: string): void;
  setActiveAdapters(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[] | null, skipLayers?: number[]): void;
  readonly activeAdapters: CompositionBlock | null;
  trainAdapter(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[]): void;
  freezeModel(freeze?: boolean): void;
  /** Folds a LoRA/IA³ adapter into the base weights. */
  mergeAdapter(name: string): void;
  /** Undoes merges (all, or only adapter `name`'s). */
  resetAdapter(name?: string): void;
  saveAdapter(dir: string, name: string, opts?: SaveAdapterOptions): Promise<void>;
  /** The files `saveAdapter` writes, in memory (file name → bytes); browser-safe. */
  adapterFiles(name: string, opts?: SaveAdapterOptions): Promise<Map<string, Uint8Array>>;
  loadAdapter(dir: string, opts?: LoadAdapterOptions): Promise<string>;
  saveAllAdapters(dir: string, opts?: SaveAdapterOptions): Promise<void>;
  /** Table of adapters (name, architecture, #params, % of base, active, train); `asRows` gives the data. */
  adapterSummary(): string;
  adapterSummaryRows(): AdapterSummaryRow[];
  // AdapterFusion and saved setups (need @adapterkit/composition; see composition-plugin.ts).
  /** Adds an AdapterFusion over adapters (config 'dynamic' by default); returns its name. */
  addAdapterFusion(fusion: FusionSpec, config?: FusionConfigLike, opts?: AddFusionOptions): string;
  deleteAdapterFusion(fusion: FusionSpec): void;
  /** Freezes everything but the setup's fusion layers (and its adapters with `unfreezeAdapters`) and activates the setup. */
  trainAdapterFusion(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts?: TrainFusionOptions): void;
  saveAdapterFusion(dir: string, fusion: FusionSpec, opts?: SaveFusionOptions): Promise<void>;
  loadAdapterFusion(dir: string, opts?: LoadFusionOptions): Promise<string>;
  saveAllAdapterFusions(dir: string, opts?: SaveFusionOptions): Promise<void>;
  /** Saves a setup (adapter_setup.json, one folder per adapter and per Fuse block). */
  saveAdapterSetup(dir: string, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts?: SaveSetupOptions): Promise<void>;
  loadAdapterSetup(dir: string, opts?: LoadSetupOptions): Promise<LoadedSetup>;
}

/** Python class names by model type, for adapter_config.json's model_class. */
const CLASS_PREFIX: Record<string, string> = { bert: 'Bert', roberta: 'Roberta', 'xlm-roberta': 'XLMRoberta', llama: 'Llama', mistral: 'Mistral' };

/** Model facts from a base model's config. */
export function modelInfoFor(base: BaseModel, opts: { basePrefix?: string; withHeads?: boolean; modelName?: string } = {}): AdapterModelInfo {
  const c = base.config;
  const raw = c.raw as Record<string, unknown>;
  const heads = c.numAttentionHeads;
  const kvHeads = (raw.num_key_value_heads as number | undefined) ?? heads;
  const headDim = (raw.head_dim as number | undefined) ?? c.hiddenSize / heads;
  const prefix = CLASS_PREFIX[c.modelType] ?? c.modelType;
  return {
    modelType: c.modelType,
    hiddenSize: c.hiddenSize,
    numLayers: c.numHiddenLayers,
    modelClass: `${prefix}${opts.withHeads ? 'AdapterModel' : 'Model'}`,
    modelName: opts.modelName ?? ((raw._name_or_path as string | undefined) ?? ''),
    basePrefix: opts.basePrefix ?? '',
    base,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
  };
}

/** Builds the API object delegating to a host. */
export function adapterApi(host: AdapterHost): AdapterModelApi {
  return {
    adapterHost: host,
    addAdapter: (name, config, opts) => host.addAdapter(name, config, opts),
    deleteAdapter: (name) => host.deleteAdapter(name),
    setActiveAdapters: (setup, skip) => host.setActiveAdapters(setup, skip),
    get activeAdapters() {
      return host.activeAdapters;
    },
    trainAdapter: (setup) => host.trainAdapter(setup),
    freezeModel: (freeze) => host.freezeModel(freeze),
    mergeAdapter: (name) => host.mergeAdapter(name),
    resetAdapter: (name) => host.resetAdapter(name),
    saveAdapter: (dir, name, opts) => saveAdapter(host, dir, name, opts),
    adapterFiles: (name, opts) => adapterFiles(host, name, opts),
    loadAdapter: (dir, opts) => loadAdapter(host, dir, opts),
    saveAllAdapters: (dir, opts) => saveAllAdapters(host, dir, opts),
    adapterSummary: () => formatAdapterSummary(adapterSummaryRows(host)),
    adapterSummaryRows: () => adapterSummaryRows(host),
    addAdapterFusion: (fusion, config, opts = {}) => compositionPlugin('addAdapterFusion').addAdapterFusion(host, fusion, config, opts),
    deleteAdapterFusion: (fusion) => compositionPlugin('deleteAdapterFusion').deleteAdapterFusion(host, fusion),
    trainAdapterFusion: (setup, opts = {}) => compositionPlugin('trainAdapterFusion').trainAdapterFusion(host, setup, opts),
    saveAdapterFusion: (dir, fusion, opts = {}) => compositionPlugin('saveAdapterFusion').saveAdapterFusion(host, dir, fusion, opts),
    loadAdapterFusion: (dir, opts = {}) => compositionPlugin('loadAdapterFusion').loadAdapterFusion(host, dir, opts),
    saveAllAdapterFusions: (dir, opts = {}) => compositionPlugin('saveAllAdapterFusions').saveAllAdapterFusions(host, dir, opts),
    saveAdapterSetup(dir, setup, opts = {}) {
      return compositionPlugin('saveAdapterSetup').saveAdapterSetup(this, dir, setup, opts);
    },
    loadAdapterSetup(dir, opts = {}) {
      return compositionPlugin('loadAdapterSetup').loadAdapterSetup(this, dir, opts);
    },
  };
}

/** Models that carry an adapter host (base models check this to open a forward context). */
export interface HasAdapterHost {
  adapterHost?: AdapterHost;
}

/**
 * Adds adapter support to a plain base model (Python `adapters.init(model)`):
 * finds its insertion points and adds the model API methods to the object.
 * Calling it twice returns the same host.
 */
export function initAdapters<M extends BaseModel>(model: M, opts: { modelName?: string } = {}): M & AdapterModelApi {
  const m = model as M & Partial<AdapterModelApi> & HasAdapterHost;
  if (m.adapterHost) return m as M & AdapterModelApi;
  const host = new AdapterHost(model as Module, modelInfoFor(model, { modelName: opts.modelName }));
  const api = adapterApi(host);
  Object.defineProperties(model, Object.getOwnPropertyDescriptors(api));
  return model as M & AdapterModelApi;
}
