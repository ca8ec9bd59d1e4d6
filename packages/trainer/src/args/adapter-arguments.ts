import { Stack, loadAdapterConfig, type AdapterConfig, type AdapterConfigLike, type ConfigUnion } from '@adapterkit/core';
import { adapterApiOf } from '../model/access.js';
import { ArgumentError } from './errors.js';

/**
 * The adapter-related arguments of the example scripts (Python
 * `AdapterArguments`), camelCase, same defaults.
 */
export interface AdapterArguments {
  /** Train an adapter instead of the full model (default false). */
  trainAdapter: boolean;
  /** A saved adapter folder to load as the task adapter ('' = none). */
  loadAdapter: string;
  /** Adapter configuration: a preset name, a config string, or a path to a JSON file (default 'seq_bn'). */
  adapterConfig: string;
  /** A saved language adapter folder to stack below the task adapter. */
  loadLangAdapter: string | null;
  /** Configuration of the language adapter (an identifier or a path to a file). */
  langAdapterConfig: string | null;
}

/** Python's defaults. */
export const ADAPTER_ARGUMENT_DEFAULTS: AdapterArguments = {
  trainAdapter: false,
  loadAdapter: '',
  adapterConfig: 'seq_bn',
  loadLangAdapter: null,
  langAdapterConfig: null,
};

/** Fills the defaults and checks the types (errors name the field). */
export function adapterArguments(input: Partial<AdapterArguments> = {}): AdapterArguments {
  const a = { ...ADAPTER_ARGUMENT_DEFAULTS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as AdapterArguments;
  for (const k of Object.keys(input)) if (!(k in ADAPTER_ARGUMENT_DEFAULTS)) throw new ArgumentError(k, `unknown adapter argument; known: ${Object.keys(ADAPTER_ARGUMENT_DEFAULTS).join(', ')}`);
  if (typeof a.trainAdapter !== 'boolean') throw new ArgumentError('trainAdapter', `must be true or false, got ${String(a.trainAdapter)}`);
  if (typeof a.loadAdapter !== 'string') throw new ArgumentError('loadAdapter', 'must be a path string');
  if (typeof a.adapterConfig !== 'string' || a.adapterConfig === '') throw new ArgumentError('adapterConfig', 'must be a config name, config string or path');
  return a;
}

/** Options of `setupAdapterTraining` (Python's adapter_config_kwargs / adapter_load_kwargs). */
export interface SetupAdapterTrainingOptions {
  /** Overrides applied to the resolved config(s), e.g. { reduction_factor: 8 }. */
  adapterConfigKwargs?: Record<string, unknown>;
  /** Extra options for loadAdapter, e.g. { leaveOut: [11] }. */
  adapterLoadKwargs?: { leaveOut?: number[]; overwriteOk?: boolean };
}

/**
 * Resolves an adapter config as Python's `AdapterConfig.load`: a preset
 * name or config string, or a path to a JSON file (a config dict, or a saved
 * adapter_config.json whose "config" is used).
 */
export async function resolveAdapterConfig(config: AdapterConfigLike, overrides: Record<string, unknown> = {}): Promise<AdapterConfig | ConfigUnion> {
  if (typeof config === 'string' && /\.json$/i.test(config)) {
    const { readFile } = await import('node:fs/promises');
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(await readFile(config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ArgumentError('adapterConfig', `cannot read adapter config file ${config}: ${(e as Error).message}`);
    }
    const body = parsed.config && typeof parsed.config === 'object' ? (parsed.config as Record<string, unknown>) : parsed;
    return loadAdapterConfig(body, overrides);
  }
  return loadAdapterConfig(config, overrides);
}

/**
 * Prepares a model for adapter training from `AdapterArguments`, as Python's
 * `setup_adapter_training`:
 *
 * with `trainAdapter`: resolve the config; load `loadAdapter` as
 * `adapterName` if given, else add the adapter unless it exists; load the
 * language adapter if given; `trainAdapter(adapterName)` (freezes the base
 * model); activate `Stack(lang, task)` or the task adapter. Returns
 * `[adapterName, langAdapterName | null]`.
 *
 * Without it: loading an adapter is an error; returns `[null, null]`.
 */
export async function setupAdapterTraining(
  model: object,
  adapterArgs: Partial<AdapterArguments>,
  adapterName: string,
  opts: SetupAdapterTrainingOptions = {},
): Promise<[string | null, string | null]> {
  const args = adapterArguments(adapterArgs);
  const kwargs = opts.adapterConfigKwargs ?? {};
  const loadKwargs = opts.adapterLoadKwargs ?? {};
  if (!args.trainAdapter) {
    if (args.loadAdapter || args.loadLangAdapter) {
      throw new ArgumentError('trainAdapter', 'adapters can only be loaded in adapter training mode; use --train_adapter to enable adapter training');
    }
    return [null, null];
  }
  const api = adapterApiOf(model, 'setupAdapterTraining');
  if (args.loadAdapter) {
    // As Python > 3.1: a pre-trained adapter is loaded even when one of that name exists. Its saved config decides its shape.
    await api.loadAdapter(args.loadAdapter, { loadAs: adapterName, overwriteOk: true, ...loadKwargs });
  } else if (!api.adapterHost.configs.has(adapterName)) {
    api.addAdapter(adapterName, await resolveAdapterConfig(args.adapterConfig, kwargs));
  }
  let langName: string | null = null;
  if (args.loadLangAdapter) {
    // The saved config decides the language adapter's shape; the given one is only validated (Python ignores it too, deprecated).
    if (args.langAdapterConfig) await resolveAdapterConfig(args.langAdapterConfig, kwargs);
    langName = await api.loadAdapter(args.loadLangAdapter, { ...loadKwargs });
  }
  api.trainAdapter(adapterName);
  api.setActiveAdapters(langName ? new Stack(langName, adapterName) : adapterName);
  return [adapterName, langName];
}
