import type { AdapterSetup, CompositionBlock, Fuse } from './composition.js';
import type { ConfigValue } from './config.js';
import type { AdapterHost } from './host.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The model API of AdapterFusion and saved setups (Python
 * `add_adapter_fusion`, `save_adapter_setup`, …) is provided by the
 * @adapterkit/composition plugin: core only declares it, so models expose
 * the methods and forward them to whichever plugin registered itself.
 */

/** Which fusion: a Fuse block, the fused adapter names, or their comma-joined name ('a,b'). */
export type FusionSpec = Fuse | readonly string[] | string;

/** A fusion config: 'dynamic' (default), 'static', or the fields as a dict (Python AdapterFusionConfig). */
export type FusionConfigLike = string | Record<string, ConfigValue>;

export interface AddFusionOptions {
  /** The fusion's name (default: the fused adapter names joined by ','). */
  name?: string;
  /** Replace a fusion of that name instead of failing. */
  overwriteOk?: boolean;
  /** Activate Fuse(...) right away. */
  setActive?: boolean;
}

export interface TrainFusionOptions {
  /** Train the fused adapters too (default false: only the fusion layers). */
  unfreezeAdapters?: boolean;
}

export interface SaveFusionOptions {
  /** Extra top-level keys for adapter_fusion_config.json (Python meta_dict). */
  metaDict?: Record<string, ConfigValue>;
}

export interface LoadFusionOptions {
  /** Load under another fusion name (weights are renamed). */
  loadAs?: string;
  /** Activate the fusion after loading. */
  setActive?: boolean;
}

export interface SaveSetupOptions {
  /** The head setup written to adapter_setup.json (a head name or a block of head names). */
  headSetup?: string | CompositionBlock | null;
  metaDict?: Record<string, ConfigValue>;
}

export interface LoadSetupOptions {
  /** Activate the loaded setup. */
  setActive?: boolean;
}

/** What `loadAdapterSetup` returns. */
export interface LoadedSetup {
  adapterSetup: CompositionBlock;
  headSetup: string | CompositionBlock | null;
}

/** The model-side operations `saveAdapterSetup` / `loadAdapterSetup` use (a model with the adapter API satisfies it). */
export interface SetupModel {
  readonly adapterHost: AdapterHost;
  saveAdapter(dir: string, name: string, opts?: { metaDict?: Record<string, ConfigValue> }): Promise<void>;
  loadAdapter(dir: string): Promise<string>;
  setActiveAdapters(setup: AdapterSetup | null): void;
}

/** The operations @adapterkit/composition provides. */
export interface CompositionPlugin {
  addAdapterFusion(host: AdapterHost, fusion: FusionSpec, config: FusionConfigLike | undefined, opts: AddFusionOptions): string;
  deleteAdapterFusion(host: AdapterHost, fusion: FusionSpec): void;
  /** Freezes the model, unfreezes the fusion layers of the setup's Fuse blocks (and the adapters if asked) and activates it. */
  trainAdapterFusion(host: AdapterHost, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: TrainFusionOptions): void;
  saveAdapterFusion(host: AdapterHost, dir: string, fusion: FusionSpec, opts: SaveFusionOptions): Promise<void>;
  loadAdapterFusion(host: AdapterHost, dir: string, opts: LoadFusionOptions): Promise<string>;
  saveAllAdapterFusions(host: AdapterHost, dir: string, opts: SaveFusionOptions): Promise<void>;
  saveAdapterSetup(model: SetupModel, dir: string, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: SaveSetupOptions): Promise<void>;
  loadAdapterSetup(model: SetupModel, dir: string, opts: LoadSetupOptions): Promise<LoadedSetup>;
  /** Σ 0.01·‖I − W_v‖² over the trained fusion value matrices (Python get_fusion_regularization_loss); null when none train. */
  fusionRegularizationLoss?(host: AdapterHost): Tensor | null;
}

let plugin: CompositionPlugin | null = null;

/** Registers the composition plugin (@adapterkit/composition does this when imported). */
export function registerCompositionPlugin(p: CompositionPlugin): void {
  plugin = p;
}

/** The registered composition plugin; an error naming the package when none is. */
export function compositionPlugin(what: string): CompositionPlugin {
  if (!plugin) throw new Error(`${what} needs the composition plugin: import '@adapterkit/composition' to register it`);
  return plugin;
}
