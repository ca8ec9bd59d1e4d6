import { AdaptableLinear, Linear, loadSafetensors, saveSafetensors, writeFileAtomic, type HostTensor, type Module, type SaveableTensor, type Tensor } from '@adapterkit/core';
import type { QuantType4 } from '../formats/codes.js';
import { NESTED_BLOCK_SIZE } from '../formats/double-quant.js';
import { QuantLinear, type QuantSiteSpec } from '../nn/quant-linear.js';
import { hostsOf, parentOf, replaceChild, swapSite } from '../nn/replace.js';
import { QuantizedWeight } from '../quantized-weight.js';
import { quantizedLayers } from '../quantize-model.js';
import { BNB_4BIT_TENSORS, BNB_8BIT_TENSORS, packQuantState, quantStateKey } from './bnb-names.js';

/** File names of a saved quantized model. */
export const QUANT_WEIGHTS_NAME = 'model.safetensors';
export const QUANT_CONFIG_NAME = 'quant_config.json';

/** One layer's entry in quant_config.json. */
export interface QuantLayerConfig {
  bits: 4 | 8;
  /** [out, in]. */
  shape: [number, number];
  quant_type?: QuantType4;
  block_size?: number;
  double_quant?: boolean;
  nested_block_size?: number;
  nested_offset?: number;
}

/**
 * quant_config.json: which layers are quantized and how (the same facts are
 * in the bitsandbytes quant_state tensors; this file lets a loader replace
 * the layers before reading any weights).
 */
export interface QuantConfigFile {
  format: 'adapterkit-quant';
  version: 1;
  /** Tensor layout of the quantized layers in model.safetensors. */
  layout: 'bitsandbytes';
  layers: Record<string, QuantLayerConfig>;
}

async function joinPath(dir: string, name: string): Promise<string> {
  const { join } = await import('node:path');
  return join(dir, name);
}

/**
 * Saves a model with quantized layers: `model.safetensors` holds every
 * parameter and buffer, the quantized layers in bitsandbytes' layout
 * (`<layer>.weight`, `<layer>.weight.absmax`, `<layer>.weight.quant_map`,
 * `<layer>.weight.nested_absmax`, `<layer>.weight.nested_quant_map`,
 * `<layer>.weight.quant_state.bitsandbytes__nf4` (the JSON of blocksize,
 * shape, nested offset …) for 4 bits; `<layer>.weight`, `<layer>.SCB`,
 * `<layer>.weight_format` for 8 bits), dense tensors under their usual
 * names; `quant_config.json` lists the quantized layers (see
 * `QuantConfigFile`). Adapter weights are left out (save them with
 * `saveAdapter`). Both files are written atomically.
 */
export async function saveQuantized(model: Module, dir: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const state = model.stateDict();
  // The base model only: adapters are saved with saveAdapter (Python layout), not here.
  const adapterKeys = new Set(hostsOf(model).flatMap((h) => [...h.allAdapterParameterNames()]));
  const out = new Map<string, SaveableTensor>();
  const layers: Record<string, QuantLayerConfig> = {};
  const quant = new Map(quantizedLayers(model));
  const renamed = new Map<string, string>();
  for (const [name, layer] of quant) {
    const q = layer.quant;
    const names = q.bits === 4 ? BNB_4BIT_TENSORS : BNB_8BIT_TENSORS;
    for (const local of q.tensors.keys()) renamed.set(`${name}.${local}`, `${name}.${names[local]!}`);
    const entry: QuantLayerConfig = { bits: q.bits, shape: [...q.shape] };
    if (q.bits === 4) Object.assign(entry, { quant_type: q.quantType!, block_size: q.blockSize, double_quant: q.doubleQuant }, q.doubleQuant ? { nested_block_size: q.nestedBlockSize, nested_offset: q.offset } : {});
    layers[name] = entry;
  }
  for (const [key, t] of state) if (!adapterKeys.has(key)) out.set(renamed.get(key) ?? key, t);
  for (const [name, layer] of quant) {
    const q = layer.quant;
    if (q.bits === 4) {
      const packed = packQuantState({
        quant_type: q.quantType!, blocksize: q.blockSize, dtype: 'float32', shape: [...q.shape],
        ...(q.doubleQuant ? { nested_blocksize: q.nestedBlockSize, nested_dtype: 'float32', nested_offset: q.offset } : {}),
      });
      out.set(`${name}.${quantStateKey(q.quantType!)}`, { dtype: 'u8', shape: [packed.length], data: packed } satisfies HostTensor);
    } else {
      out.set(`${name}.weight_format`, { dtype: 'u8', shape: [], data: new Uint8Array([0]) } satisfies HostTensor);
    }
  }
  await saveSafetensors(await joinPath(dir, QUANT_WEIGHTS_NAME), out, { format: 'pt' });
  const config: QuantConfigFile = { format: 'adapterkit-quant', version: 1, layout: 'bitsandbytes', layers };
  const text = `${JSON.stringify(config, null, 2)}\n`;
  await writeFileAtomic(await joinPath(dir, QUANT_CONFIG_NAME), async (fh) => void (await fh.writeFile(text, 'utf8')));
}

/** Reads and checks quant_config.json. */
export async function readQuantConfig(dir: string): Promise<QuantConfigFile> {
  const { readFile } = await import('node:fs/promises');
  const path = await joinPath(dir, QUANT_CONFIG_NAME);
  const cfg = JSON.parse(await readFile(path, 'utf8')) as Partial<QuantConfigFile>;
  if (cfg.format !== 'adapterkit-quant' || cfg.version !== 1 || typeof cfg.layers !== 'object' || cfg.layers === null) {
    throw new Error(`loadQuantized: ${path} is not an adapterkit-quant version 1 config`);
  }
  return cfg as QuantConfigFile;
}

/** The model's backend (of its first parameter or buffer). */
function backendOf(model: Module): Tensor['backend'] | undefined {
  return (model.parameters()[0] ?? model.namedBuffers()[0]?.[1])?.backend;
}

/**
 * Loads a directory written by `saveQuantized` into `model`, a model of the
 * same architecture with dense layers (e.g. freshly constructed or loaded
 * from the original checkpoint): the listed layers become QuantLinear
 * layers holding the saved codes and scales (no requantization), then every
 * tensor is loaded strictly (missing or unexpected keys are errors; adapters
 * the model already has are not expected in the file).
 * Insertion points are kept, as in `quantizeModel`; load before adding
 * LoRA / IA³ adapters.
 */
export async function loadQuantized(model: Module, dir: string): Promise<void> {
  const config = await readQuantConfig(dir);
  const path = await joinPath(dir, QUANT_WEIGHTS_NAME);
  const tensors = await loadSafetensors(path, { backend: backendOf(model) });
  const used = new Set<string>();
  // Tensors that become QuantLinear buffers as they are (the rest are copied into the model by loadStateDict).
  const owned = new Set<Tensor>();
  try {
    const hosts = hostsOf(model);
    const dict = new Map<string, Tensor>();
    for (const [name, entry] of Object.entries(config.layers)) {
      const where = `loadQuantized(${dir}): layer '${name}'`;
      const { parent, name: local } = parentOf(model, name);
      const old = parent.child(local);
      if (!(old instanceof Linear) && !(old instanceof QuantLinear)) throw new Error(`${where} is ${old ? old.constructor.name : 'missing'} in the model, expected a Linear`);
      const names = entry.bits === 4 ? BNB_4BIT_TENSORS : BNB_8BIT_TENSORS;
      const own = new Map<string, Tensor>();
      for (const [mine, bnb] of Object.entries(names)) {
        const t = tensors.get(`${name}.${bnb}`);
        if (!t) continue;
        own.set(mine, t);
        owned.add(t);
        used.add(`${name}.${bnb}`);
        dict.set(`${name}.${mine}`, t);
      }
      used.add(entry.bits === 4 ? `${name}.${quantStateKey(entry.quant_type ?? 'nf4')}` : `${name}.weight_format`);
      const q = QuantizedWeight.fromTensors(own, {
        bits: entry.bits, shape: entry.shape, quantType: entry.quant_type, blockSize: entry.block_size,
        nestedBlockSize: entry.nested_block_size ?? NESTED_BLOCK_SIZE, offset: entry.nested_offset,
      }, where);
      if (old.namedChildren().length) throw new Error(`${where} already has adapter modules; load the quantized model before adding LoRA/IA³ adapters`);
      let site: QuantSiteSpec | null = null;
      const oldSite = old instanceof AdaptableLinear ? old.site : old instanceof QuantLinear ? old.site : null;
      if (oldSite) site = { layer: oldSite.layer, location: oldSite.location, ...(oldSite.key ? { key: oldSite.key } : {}) };
      const next = new QuantLinear(q, { bias: old.bias, site });
      next.training = old.training;
      replaceChild(parent, local, old, next);
      if (oldSite && next.site) swapSite(hosts, oldSite, next.site);
      if (old instanceof QuantLinear) old.quant.dispose();
      else old.weight.dispose();
    }
    for (const [k, t] of tensors) if (!used.has(k)) dict.set(k, t);
    // Strict, except that adapters the model already has (e.g. bottleneck adapters) are not in the file.
    const adapterKeys = new Set(hosts.flatMap((h) => [...h.allAdapterParameterNames()]));
    const { missingKeys, unexpectedKeys } = model.loadStateDict(dict, { strict: false });
    const missing = missingKeys.filter((k) => !adapterKeys.has(k));
    if (missing.length || unexpectedKeys.length) {
      const list = (ks: string[]) => `${ks.slice(0, 10).join(', ')}${ks.length > 10 ? ` … (${ks.length})` : ''}`;
      throw new Error(`loadQuantized(${dir}): ${[missing.length ? `missing keys: ${list(missing)}` : '', unexpectedKeys.length ? `unexpected keys: ${list(unexpectedKeys)}` : ''].filter(Boolean).join('; ')}`);
    }
  } finally {
    // Loaded dense tensors now share storage with the model's own; their file-side objects can go.
    for (const t of tensors.values()) if (!owned.has(t)) t.dispose();
  }
}
