import type { AdapterConfig } from './config.js';
import type { BlockType } from './composition.js';
import type { AdapterHost } from './host.js';

/**
 * An adapter method plugin (bottleneck, LoRA, prefix tuning, …). It registers
 * its config schema and presets (config.ts) and this object; the host calls it
 * to create and remove an adapter's modules at the model's insertion points.
 */
export interface AdapterMethod {
  /** Architecture key as in adapter_config.json ('lora', 'prefix_tuning', …); 'bottleneck' for the key-less bottleneck family. */
  readonly architecture: string;
  /** Composition blocks this method evaluates (Python support table). Single adapters always work. */
  readonly supportedBlocks: readonly BlockType[];
  /** Creates the adapter's modules at the matching sites (respecting leave_out) and attaches hooks. */
  addAdapter(host: AdapterHost, name: string, config: AdapterConfig): void;
  /** Removes the adapter's modules and hooks; a no-op for names it does not hold. */
  deleteAdapter(host: AdapterHost, name: string): void;
  /** Substrings that identify `name`'s weights in state-dict keys (Python AdapterLoader.filter_func). */
  weightMarkers(name: string): string[];
  /** Whether this method holds an adapter of that name in this model. */
  hasAdapter(host: AdapterHost, name: string): boolean;
  /**
   * Optional hooks around saving: `beforeSave` runs before the config and
   * weights are collected (it may change the adapter, e.g. prefix tuning
   * ejects its reparametrisation), `afterSave` runs afterwards, also when
   * saving failed (to undo such a change).
   */
  beforeSave?(host: AdapterHost, name: string): void;
  afterSave?(host: AdapterHost, name: string): void;
  /**
   * Optional: maps a saved weight key to the key this method uses, for
   * layouts where Python saves one tensor under several names (prefix
   * tuning's pool is also registered under every attention layer). Keys
   * that map to an already present key are dropped when loading. `host` and
   * `name` (the adapter being loaded, already created) let a method decide by
   * the adapter's config (bottleneck `ln_before`: `adapter_down.0` is the
   * same LayerNorm as `adapter_norm_before`).
   */
  canonicalKey?(key: string, host: AdapterHost, name: string): string;
  /** Optional: fold the adapter into the base weights (LoRA, IA³). */
  mergeAdapter?(host: AdapterHost, name: string): void;
  /** Optional: undo merges (all of this method's, or only `name`'s). */
  resetAdapter?(host: AdapterHost, name?: string): void;
}

const methods = new Map<string, AdapterMethod>();

/** Registers an adapter method plugin (replacing one of the same architecture). */
export function registerMethod(method: AdapterMethod): void {
  methods.set(method.architecture, method);
}

/** The method for an architecture; a clear error when no plugin provides it. */
export function methodFor(architecture: string | null): AdapterMethod {
  const key = architecture ?? 'bottleneck';
  const m = methods.get(key);
  if (!m) {
    const pkg = PACKAGES[key];
    throw new Error(`no adapter method registered for architecture '${key}'${pkg ? `; import '${pkg}' to register it` : ''} (registered: ${[...methods.keys()].join(', ') || 'none'})`);
  }
  return m;
}

export function registeredMethods(): AdapterMethod[] {
  return [...methods.values()];
}

const PACKAGES: Record<string, string> = {
  bottleneck: '@adapterkit/method-bottleneck',
  lora: '@adapterkit/method-lora',
  prefix_tuning: '@adapterkit/method-prefix',
  prompt_tuning: '@adapterkit/method-prefix',
};
