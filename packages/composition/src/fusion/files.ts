import {
  ADAPTER_FILES, SAVED_VERSION, ShapeError, cast, ensureDir, fileExists, formatShape, joinPath, loadSafetensors, noGrad, readJson,
  saveSafetensors, shapesEqual, writeJsonAtomic,
  type AdapterHost, type ConfigFields, type FusionSpec, type LoadFusionOptions, type Parameter, type SaveFusionOptions, type Tensor,
} from '@adapterkit/core';
import { addAdapterFusion, deleteAdapterFusion, fuseBlockOf, hostOf, type HostLike } from './api.js';
import { AdapterFusionConfig } from './config.js';
import { FUSION_HOLDER, fusionNameOf, fusionsOf } from './registry.js';

/** The key segment that marks a fusion's weights (Python AdapterFusionLoader.filter_func, with the closing '.'). */
export function fusionMarker(name: string): string {
  return `${FUSION_HOLDER}.${name}.`;
}

/** A fusion's parameters by full name (relative to the model the host belongs to). */
export function fusionParameters(host: AdapterHost, name: string): [string, Parameter][] {
  const marker = fusionMarker(name);
  return host.root.namedParameters().filter(([k]) => k.includes(marker));
}

/** adapter_fusion_config.json's body (Python build_full_config with adapter_names). */
function fusionConfigFile(host: AdapterHost, name: string, meta: Record<string, unknown> = {}): ConfigFields {
  const entry = fusionsOf(host).get(name)!;
  return {
    adapter_names: [...entry.adapterNames],
    config: entry.config.toDict(),
    hidden_size: host.info.hiddenSize,
    model_class: host.info.modelClass,
    model_name: host.info.modelName,
    model_type: host.info.modelType,
    name,
    version: SAVED_VERSION,
    ...(meta as ConfigFields),
  };
}

/**
 * Saves a fusion in Python's layout (`save_adapter_fusion(...,
 * use_safetensors=True)`): adapter_fusion_config.json and
 * model_adapter_fusion.safetensors with keys such as
 * `encoder.layer.0.output.adapter_fusion_layer.a,b.query.weight`
 * (`bert.`-prefixed from an AdapterModel).
 */
export async function saveAdapterFusion(target: HostLike, dir: string, spec: FusionSpec, opts: SaveFusionOptions = {}): Promise<void> {
  const host = hostOf(target);
  const name = fusionNameOf(spec);
  if (!fusionsOf(host).has(name)) {
    throw new Error(`saveAdapterFusion: no AdapterFusion named '${name}'; fusions: ${[...fusionsOf(host).keys()].join(', ') || 'none'}`);
  }
  const weights = new Map<string, Tensor>(fusionParameters(host, name));
  if (!weights.size) throw new Error(`saveAdapterFusion: AdapterFusion '${name}' has no weights in this model`);
  await ensureDir(dir);
  await saveSafetensors(await joinPath(dir, ADAPTER_FILES.fusionWeights), weights);
  await writeJsonAtomic(await joinPath(dir, ADAPTER_FILES.fusionConfig), fusionConfigFile(host, name, opts.metaDict), AdapterFusionConfig.floatFields());
}

/** Saves every fusion into `dir/<fusion name>/`, adding config_id (the config hash) as Python does. */
export async function saveAllAdapterFusions(target: HostLike, dir: string, opts: SaveFusionOptions = {}): Promise<void> {
  const host = hostOf(target);
  for (const [name, entry] of fusionsOf(host)) {
    await saveAdapterFusion(host, await joinPath(dir, name), name, { metaDict: { ...opts.metaDict, config_id: entry.config.hash() } });
  }
}

/**
 * Loads a fusion saved here or by Python (safetensors). The fused adapters
 * must be in the model already (load them first). Keys are matched with or
 * without the base-model prefix and renamed for `loadAs`; missing or
 * unexpected weights, and shape mismatches, are errors that list them.
 * Returns the fusion's name.
 */
export async function loadAdapterFusion(target: HostLike, dir: string, opts: LoadFusionOptions = {}): Promise<string> {
  const host = hostOf(target);
  const configPath = await joinPath(dir, ADAPTER_FILES.fusionConfig);
  if (!(await fileExists(configPath))) throw new Error(`loadAdapterFusion: ${configPath} not found (not an AdapterFusion folder)`);
  const saved = await readJson(configPath);
  if (!saved.config || typeof saved.config !== 'object') throw new Error(`loadAdapterFusion: ${configPath} has no 'config' object`);
  if (saved.model_type && saved.model_type !== host.info.modelType) {
    throw new Error(`loadAdapterFusion: the fusion in ${dir} was saved for model_type '${String(saved.model_type)}', this model is '${host.info.modelType}'`);
  }
  if (typeof saved.hidden_size === 'number' && saved.hidden_size !== host.info.hiddenSize) {
    throw new Error(`loadAdapterFusion: the fusion in ${dir} has hidden_size ${saved.hidden_size}, this model has ${host.info.hiddenSize}`);
  }
  const savedName = typeof saved.name === 'string' ? saved.name : undefined;
  const name = opts.loadAs ?? savedName;
  if (!name) throw new Error(`loadAdapterFusion: ${configPath} has no name; pass loadAs`);
  const adapterNames = Array.isArray(saved.adapter_names) ? (saved.adapter_names as string[]) : (savedName ?? name).split(',');
  const weightsPath = await joinPath(dir, ADAPTER_FILES.fusionWeights);
  if (!(await fileExists(weightsPath))) {
    const bin = await fileExists(await joinPath(dir, 'pytorch_model_adapter_fusion.bin'));
    throw new Error(`loadAdapterFusion: ${weightsPath} not found${bin ? ' (the folder has pytorch_model_adapter_fusion.bin, a PyTorch pickle; re-save it in Python with save_adapter_fusion(..., use_safetensors=True))' : ''}`);
  }
  const config = AdapterFusionConfig.load(saved.config as Record<string, never>, `loadAdapterFusion (${configPath})`);
  const file = await loadSafetensors(weightsPath);
  try {
    addAdapterFusion(host, adapterNames, config, { name, overwriteOk: true });
    try {
      assignFusionWeights(host, name, savedName ?? name, file, weightsPath);
    } catch (e) {
      deleteAdapterFusion(host, name);
      throw e;
    }
  } finally {
    for (const t of file.values()) t.dispose();
  }
  if (opts.setActive) host.setActiveAdapters(fuseBlockOf(fusionsOf(host).get(name)!));
  return name;
}

/** Maps saved keys (either prefix, saved fusion name) onto the fusion's parameters and copies them. */
function assignFusionWeights(host: AdapterHost, name: string, savedName: string, file: Map<string, Tensor>, source: string): void {
  const params = new Map(fusionParameters(host, name));
  const prefix = host.info.basePrefix ? `${host.info.basePrefix}.` : '';
  const oldMarker = fusionMarker(savedName);
  const newMarker = fusionMarker(name);
  const renamed = new Map<string, Tensor>();
  for (const [key, t] of file) {
    let k = key.split(oldMarker).join(newMarker);
    if (!params.has(k)) {
      if (prefix && params.has(prefix + k)) k = prefix + k;
      else if (!prefix && k.includes('.') && params.has(k.slice(k.indexOf('.') + 1))) k = k.slice(k.indexOf('.') + 1);
    }
    renamed.set(k, t);
  }
  const missing = [...params.keys()].filter((k) => !renamed.has(k));
  const unexpected = [...renamed.keys()].filter((k) => !params.has(k));
  if (missing.length || unexpected.length) {
    throw new Error(`loadAdapterFusion: weights in ${source} do not match AdapterFusion '${name}':` +
      (missing.length ? `\n  missing: ${missing.join(', ')}` : '') + (unexpected.length ? `\n  unexpected: ${unexpected.join(', ')}` : ''));
  }
  noGrad(() => {
    for (const [k, p] of params) {
      const t = renamed.get(k)!;
      if (!shapesEqual(t.shape, p.shape)) throw new ShapeError(`loadAdapterFusion: '${k}' in ${source} has shape ${formatShape(t.shape)}, the model expects ${formatShape(p.shape)}`);
      const v = t.dtype === p.dtype ? t : cast(t, p.dtype);
      p.assign(v);
      if (v !== t) v.dispose();
    }
  });
}
