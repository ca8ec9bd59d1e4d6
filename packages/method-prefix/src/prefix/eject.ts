import { AdapterConfig, ConfigUnion, contiguous, noGrad, reshape, tidy, type AdapterHost } from '@adapterkit/core';
import { hostOf, type HostLike } from '../host-of.js';
import { PREFIX_TUNING } from './config.js';
import { prefixPoolOf } from './pool.js';
import { FlatPrefixTuning, type PrefixModule, type PrefixTuningGroup } from './modules.js';

/** The config with `flat` set on its prefix-tuning part. */
function flatConfig(config: AdapterConfig | ConfigUnion): AdapterConfig | ConfigUnion {
  const flatten = (c: AdapterConfig): AdapterConfig => (c.architecture === PREFIX_TUNING ? c.replace({ flat: true }) : c);
  return config instanceof ConfigUnion ? new ConfigUnion(config.configs.map(flatten)) : flatten(config);
}

function groupOf(host: AdapterHost, name: string, where: string): PrefixTuningGroup {
  const group = prefixPoolOf(host, false)?.prefix_tunings.get(name);
  if (!group) {
    const names = prefixPoolOf(host, false)?.prefix_tunings.keys() ?? [];
    throw new Error(`${where}: no prefix-tuning adapter named '${name}'; prefix-tuning adapters: ${names.join(', ') || 'none'}`);
  }
  return group;
}

/**
 * Replaces every reparametrised module of a group by a flat one holding the
 * MLP's output (computed once, without dropout); returns the replaced ones.
 */
function ejectGroup(group: PrefixTuningGroup): Map<string, PrefixModule> {
  const replaced = new Map<string, PrefixModule>();
  for (const [location, module] of group.entries()) {
    if (module.flat) continue;
    const g = module.geometry;
    // Python's eject also runs the MLP once, for batch size 1, without dropout.
    const values = noGrad(() => tidy(() => contiguous(reshape(module.rows(), [-1]))));
    const flat = new FlatPrefixTuning(g, { ...module.settings, flat: true }, values);
    flat.control_trans.requiresGrad = module.parameters().some((p) => p.requiresGrad);
    flat.train(module.training);
    group.set(location, flat);
    replaced.set(location, module);
  }
  return replaced;
}

/**
 * Converts a reparametrised prefix into its flat form (Python
 * `model.eject_prefix_tuning(name)`): the MLP output becomes the single
 * parameter `…self_prefix.control_trans`, so outputs stay the same while
 * the MLP's weights are freed. Unlike Python, the adapter's config becomes
 * `flat: true` too, so a later `saveAdapter` writes files that Python loads as
 * a flat prefix (Python keeps `flat: false` and its own saved files then do
 * not load). Correct for grouped-query attention as well (Python's eject
 * assumes kvHeads·headDim = hidden size).
 */
export function ejectPrefixTuning(target: HostLike, name: string): void {
  const host = hostOf(target, 'ejectPrefixTuning');
  const group = groupOf(host, name, 'ejectPrefixTuning');
  for (const old of ejectGroup(group).values()) old.dispose();
  host.configs.set(name, flatConfig(host.configs.get(name)!));
  host.root.nameParameters();
}

const ejectOnSave = new WeakMap<AdapterHost, boolean>();
const stashed = new WeakMap<AdapterHost, Map<string, { config: AdapterConfig | ConfigUnion; modules: Map<string, PrefixModule> }>>();

/**
 * Makes `saveAdapter` write prefix-tuning adapters of this model in the flat
 * form (`flat: true`, one `control_trans` vector per location) instead of
 * Python's default reparametrised layout. The adapter in memory is left as
 * it was (it is ejected for the save and restored afterwards), so training
 * can go on. Off by default.
 */
export function setPrefixTuningEjectOnSave(target: HostLike, enabled = true): void {
  ejectOnSave.set(hostOf(target, 'setPrefixTuningEjectOnSave'), enabled);
}

/** Whether `saveAdapter` writes prefix tuning in the flat form for this model. */
export function prefixTuningEjectOnSave(target: HostLike): boolean {
  return ejectOnSave.get(hostOf(target, 'prefixTuningEjectOnSave')) ?? false;
}

/** AdapterMethod.beforeSave: ejects temporarily when the model asks for flat files. */
export function ejectBeforeSave(host: AdapterHost, name: string): void {
  if (!ejectOnSave.get(host)) return;
  const group = prefixPoolOf(host, false)?.prefix_tunings.get(name);
  if (!group) return;
  const config = host.configs.get(name)!;
  const modules = ejectGroup(group);
  if (!modules.size) return;
  let byName = stashed.get(host);
  if (!byName) stashed.set(host, (byName = new Map()));
  byName.set(name, { config, modules });
  host.configs.set(name, flatConfig(config));
}

/** AdapterMethod.afterSave: puts the reparametrised modules and config back. */
export function restoreAfterSave(host: AdapterHost, name: string): void {
  const entry = stashed.get(host)?.get(name);
  if (!entry) return;
  stashed.get(host)!.delete(name);
  const group = prefixPoolOf(host, false)?.prefix_tunings.get(name);
  for (const [location, module] of entry.modules) {
    group?.get(location)?.dispose();
    group?.set(location, module);
  }
  host.configs.set(name, entry.config);
  host.root.nameParameters();
}
