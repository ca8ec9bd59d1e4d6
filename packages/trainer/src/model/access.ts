import {
  AdapterHost,
  Fuse,
  compositionPlugin,
  loadAdapter as hostLoadAdapter,
  type CompositionBlock,
  type Tensor,
} from '@adapterkit/core';
import type { AdapterApiLike, HeadsLike } from './types.js';

/**
 * Finds the adapter host of a model: on the model itself (`initAdapters`,
 * AdapterModel) or on its base model (`model.base`). Undefined when the
 * model has no adapter support.
 */
export function adapterHostOf(model: object): AdapterHost | undefined {
  const m = model as { adapterHost?: AdapterHost; base?: { adapterHost?: AdapterHost } };
  return m.adapterHost ?? m.base?.adapterHost;
}

/** The adapter host, or an error saying how to add adapter support. */
export function requireAdapterHost(model: object, who: string): AdapterHost {
  const host = adapterHostOf(model);
  if (!host) {
    throw new Error(`${who}: the model has no adapter support; load it with AutoAdapterModel.fromPretrained or call initAdapters(model) first`);
  }
  return host;
}

/**
 * The camelCase adapter API of a model. Models that carry the methods
 * (`initAdapters`, AdapterModel) are used as they are; otherwise the API is
 * built on the host with core's functions, so the helpers work either way.
 */
export function adapterApiOf(model: object, who: string): AdapterApiLike {
  const m = model as Partial<AdapterApiLike>;
  if (typeof m.addAdapter === 'function' && typeof m.trainAdapter === 'function' && typeof m.loadAdapter === 'function' && m.adapterHost) {
    return m as AdapterApiLike;
  }
  const host = requireAdapterHost(model, who);
  return {
    adapterHost: host,
    get activeAdapters() {
      return host.activeAdapters;
    },
    addAdapter: (name, config, opts) => host.addAdapter(name, config as never, opts),
    loadAdapter: (dir, opts) => hostLoadAdapter(host, dir, opts),
    trainAdapter: (setup) => host.trainAdapter(setup),
    setActiveAdapters: (setup) => host.setActiveAdapters(setup),
  };
}

/** The model's heads API when it has flex heads (AdapterModel), else undefined. */
export function headsOf(model: object): HeadsLike | undefined {
  const m = model as Partial<HeadsLike>;
  if (m.heads && typeof m.heads.names === 'function' && typeof m.saveHead === 'function' && typeof m.headStateDict === 'function') return m as HeadsLike;
  return undefined;
}

/** Whether the setup is a Fuse or has a Fuse as a direct child (Python's train_adapter_fusion rule). */
export function setupTrainsFusion(setup: CompositionBlock | null): boolean {
  if (!setup) return false;
  return setup instanceof Fuse || setup.type === 'Fuse' || setup.children.some((c) => typeof c !== 'string' && c.type === 'Fuse');
}

/**
 * The value-matrix regularization loss of all fusion layers (Python
 * get_fusion_regularization_loss), when the composition plugin offers it
 * (an optional `fusionRegularizationLoss(host)` beside core's
 * CompositionPlugin operations); null otherwise.
 */
export function fusionRegularizationLoss(host: AdapterHost): Tensor | null {
  let plugin: unknown;
  try {
    plugin = compositionPlugin('fusion regularization');
  } catch {
    return null;
  }
  const fn = (plugin as { fusionRegularizationLoss?: (h: AdapterHost) => Tensor | null }).fusionRegularizationLoss;
  return fn ? fn.call(plugin, host) : null;
}
