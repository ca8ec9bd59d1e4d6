import { loadSafetensors, serializeSafetensors } from '../io/safetensors-file.js';
import { noGrad } from '../autograd/grad-mode.js';
import { ShapeError, formatShape } from '../errors.js';
import { cast } from '../ops/cast.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { AdapterConfig, ConfigUnion, loadAdapterConfig, type ConfigFields, type ConfigValue } from './config.js';
import { ADAPTER_FILES, SAVED_VERSION, fileExists, joinPath, pythonJsonBytes, readJson, writeFilesAtomic } from './files.js';
import type { AdapterHost } from './host.js';

export interface SaveAdapterOptions {
  /** Extra top-level keys for adapter_config.json (Python meta_dict). */
  metaDict?: Record<string, ConfigValue>;
}

export interface LoadAdapterOptions {
  /** Load under another name (weights are renamed). */
  loadAs?: string;
  /** Activate the adapter after loading. */
  setActive?: boolean;
  /** Layers to leave out, merged with the saved config's leave_out. */
  leaveOut?: number[];
  /** Replace an existing adapter of that name. */
  overwriteOk?: boolean;
}

/** The full adapter_config.json body (Python build_full_config). */
export function buildFullConfig(host: AdapterHost, name: string, meta: Record<string, ConfigValue> = {}): ConfigFields {
  const config = host.configs.get(name);
  if (!config) throw new Error(`saveAdapter: no adapter named '${name}'; adapters: ${host.adapterNames().join(', ') || 'none'}`);
  return {
    config: config.toDict(),
    hidden_size: host.info.hiddenSize,
    model_class: host.info.modelClass,
    model_name: host.info.modelName,
    model_type: host.info.modelType,
    name,
    version: SAVED_VERSION,
    ...meta,
  };
}

function floatFieldsOf(config: AdapterConfig | ConfigUnion): Set<string> {
  return config instanceof ConfigUnion ? new Set(config.configs.flatMap((c) => [...c.floatFields()])) : config.floatFields();
}

/**
 * The files of one adapter in the Python `adapters` layout, in memory:
 * file name → bytes. Works anywhere, browsers included (no file system);
 * `saveAdapter` writes exactly these bytes.
 *
 * - `adapter.safetensors`: the adapter's weights under their full parameter
 *   names, in the reference safetensors layout (backend tensors are read
 *   back, so this is async);
 * - `adapter_config.json`: `{config, hidden_size, model_class, model_name,
 *   model_type, name, version, ...metaDict}` as Python's
 *   `json.dump(indent=2, sort_keys=True)` writes it.
 *
 * The weights come first in the map, so writers that follow its order write
 * the config last. Methods' `beforeSave`/`afterSave` hooks run around it.
 * Throws for an unknown name or an adapter without weights.
 *
 * ```ts
 * const files = await adapterFiles(model.adapterHost, 'sst2');
 * files.get('adapter_config.json'); // Uint8Array
 * ```
 */
export async function adapterFiles(host: AdapterHost, name: string, opts: SaveAdapterOptions = {}): Promise<Map<string, Uint8Array>> {
  buildFullConfig(host, name, opts.metaDict); // fails early for unknown names
  const methods = host.methodsOf(name).map(({ method }) => method);
  // beforeSave may change the adapter (and its config), so both are read after it.
  for (const method of methods) method.beforeSave?.(host, name);
  try {
    const full = buildFullConfig(host, name, opts.metaDict);
    const weights = new Map<string, Tensor>(host.adapterParameters(name));
    if (weights.size === 0) throw new Error(`saveAdapter: adapter '${name}' has no weights in this model`);
    return new Map([
      [ADAPTER_FILES.weights, await serializeSafetensors(weights)],
      [ADAPTER_FILES.config, pythonJsonBytes(full, floatFieldsOf(host.configs.get(name)!))],
    ]);
  } finally {
    for (const method of methods) method.afterSave?.(host, name);
  }
}

/** Saves one adapter in the Python layout: adapter_config.json + adapter.safetensors (atomic writes; the bytes of `adapterFiles`). */
export async function saveAdapter(host: AdapterHost, dir: string, name: string, opts: SaveAdapterOptions = {}): Promise<void> {
  await writeFilesAtomic(dir, await adapterFiles(host, name, opts));
}

/** Legacy fixes Python applies to saved configs (loading.py): activation renames, LoRA alpha for old versions. */
function upgradeSavedConfig(saved: Record<string, unknown>): Record<string, unknown> {
  const version = saved.version as string | undefined;
  const fix = (c: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...c };
    if (version === undefined && typeof out.non_linearity === 'string') {
      if (out.non_linearity === 'gelu') out.non_linearity = 'gelu_new';
      else if (out.non_linearity === 'gelu_orig') out.non_linearity = 'gelu';
    }
    if (version?.startsWith('adapters.') && out.architecture === 'lora' && out.r !== out.alpha && versionBelow(version.slice(9), [1, 1, 0])) {
      out.alpha = out.r;
    }
    return out;
  };
  const config = saved.config as Record<string, unknown>;
  if (config.architecture === 'union') return { ...config, configs: (config.configs as Record<string, unknown>[]).map(fix) };
  return fix(config);
}

function versionBelow(v: string, ref: number[]): boolean {
  const parts = v.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < ref.length; i++) {
    if ((parts[i] ?? 0) !== ref[i]) return (parts[i] ?? 0) < ref[i]!;
  }
  return false;
}

/**
 * Loads an adapter saved here or by the Python library (safetensors). Checks
 * model type and hidden size, creates the adapter, then loads every weight
 * with shape checks; missing or unexpected weights are errors that list them.
 * Returns the adapter's name.
 */
export async function loadAdapter(host: AdapterHost, dir: string, opts: LoadAdapterOptions = {}): Promise<string> {
  const configPath = await joinPath(dir, ADAPTER_FILES.config);
  if (!(await fileExists(configPath))) throw new Error(`loadAdapter: ${configPath} not found (not an adapter folder)`);
  const saved = await readJson(configPath);
  if (!saved.config || typeof saved.config !== 'object') throw new Error(`loadAdapter: ${configPath} has no 'config' object`);
  if (saved.model_type && saved.model_type !== host.info.modelType) {
    throw new Error(`loadAdapter: adapter in ${dir} was saved for model_type '${String(saved.model_type)}', this model is '${host.info.modelType}'`);
  }
  if (typeof saved.hidden_size === 'number' && saved.hidden_size !== host.info.hiddenSize) {
    throw new Error(`loadAdapter: adapter in ${dir} has hidden_size ${saved.hidden_size}, this model has ${host.info.hiddenSize}`);
  }
  const savedName = String(saved.name ?? opts.loadAs ?? '');
  const name = opts.loadAs ?? savedName;
  if (!name) throw new Error(`loadAdapter: ${configPath} has no name; pass loadAs`);
  let config = loadAdapterConfig(upgradeSavedConfig(saved));
  if (opts.leaveOut?.length) {
    const merge = (c: AdapterConfig): AdapterConfig =>
      'leave_out' in c.fields ? c.replace({ leave_out: [...new Set([...(c.fields.leave_out as number[]), ...opts.leaveOut!])] }) : c;
    config = config instanceof ConfigUnion ? new ConfigUnion(config.configs.map(merge)) : merge(config);
  }
  const weightsPath = await joinPath(dir, ADAPTER_FILES.weights);
  if (!(await fileExists(weightsPath))) {
    const bin = await fileExists(await joinPath(dir, ADAPTER_FILES.torchWeights));
    throw new Error(`loadAdapter: ${weightsPath} not found${bin ? ` (the folder has ${ADAPTER_FILES.torchWeights}, a PyTorch pickle, which adapterkit cannot read yet; re-save it in Python with save_adapter(..., use_safetensors=True))` : ''}`);
  }
  const file = await loadSafetensors(weightsPath);
  host.addAdapter(name, config, { overwriteOk: opts.overwriteOk });
  try {
    assignWeights(host, name, savedName, file, weightsPath);
  } catch (e) {
    host.deleteAdapter(name);
    throw e;
  } finally {
    for (const t of file.values()) t.dispose();
  }
  if (opts.setActive) host.setActiveAdapters(name);
  return name;
}

/** Maps saved keys (with or without the base prefix, saved name) onto this model's adapter parameters. */
function assignWeights(host: AdapterHost, name: string, savedName: string, file: Map<string, Tensor>, source: string): void {
  const params = new Map(host.adapterParameters(name));
  // Markers of the saved name and of the new name, pairwise (Python renames the same segments for load_as).
  const methods = host.methodsOf(name).map(({ method }) => method);
  const oldMarkers = methods.flatMap((m) => m.weightMarkers(savedName));
  const newMarkers = methods.flatMap((m) => m.weightMarkers(name));
  const renamed = new Map<string, Tensor>();
  const prefix = host.info.basePrefix ? `${host.info.basePrefix}.` : '';
  const canonical = host.methodsOf(name).flatMap(({ method }) => (method.canonicalKey ? [method.canonicalKey.bind(method)] : []));
  for (const [key, t] of file) {
    let k = canonical.reduce((acc, f) => f(acc, host, name), key);
    if (savedName !== name) oldMarkers.forEach((m, i) => (k = k.split(m).join(newMarkers[i]!)));
    if (!params.has(k)) {
      if (prefix && params.has(prefix + k)) k = prefix + k;
      else if (prefix === '' && k.includes('.') && params.has(k.slice(k.indexOf('.') + 1))) k = k.slice(k.indexOf('.') + 1);
    }
    // Aliases of one tensor (see AdapterMethod.canonicalKey) load once.
    if (k !== key && renamed.has(k)) continue;
    renamed.set(k, t);
  }
  const missing = [...params.keys()].filter((k) => !renamed.has(k));
  const unexpected = [...renamed.keys()].filter((k) => !params.has(k));
  if (missing.length || unexpected.length) {
    throw new Error(`loadAdapter: weights in ${source} do not match adapter '${name}':` +
      (missing.length ? `\n  missing: ${missing.join(', ')}` : '') + (unexpected.length ? `\n  unexpected: ${unexpected.join(', ')}` : ''));
  }
  noGrad(() => {
    for (const [k, p] of params) {
      const t = renamed.get(k)!;
      if (!shapesEqual(t.shape, p.shape)) throw new ShapeError(`loadAdapter: '${k}' in ${source} has shape ${formatShape(t.shape)}, the model expects ${formatShape(p.shape)}`);
      const v = t.dtype === p.dtype ? t : cast(t, p.dtype);
      p.assign(v);
      if (v !== t) v.dispose();
    }
  });
}

/** Saves every adapter into `dir/<name>/`, adding config_id (the config hash) as Python does. */
export async function saveAllAdapters(host: AdapterHost, dir: string, opts: SaveAdapterOptions = {}): Promise<void> {
  for (const name of host.adapterNames()) {
    const config = host.configs.get(name)!;
    await saveAdapter(host, await joinPath(dir, name), name, { metaDict: { config_id: config.hash(), ...opts.metaDict } });
  }
}
