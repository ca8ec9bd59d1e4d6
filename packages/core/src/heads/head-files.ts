import type { HeadConfig } from './config.js';

/**
 * head_config.json in the Python `adapters` layout (`PredictionHeadLoader`,
 * `build_full_config`), and JSON written the way Python writes it.
 */

/** Version written into saved head configs (the same as adapter configs; Python treats versions not starting with 'adapters.' as current). */
export const ADAPTERS_VERSION = 'adapterkit.0.1.0';
/** File names used by the Python library with `use_safetensors=True`. */
export const HEAD_CONFIG_NAME = 'head_config.json';
export const HEAD_WEIGHTS_NAME = 'model_head.safetensors';
/** The torch-pickle head weights Python writes by default (not readable here). */
export const HEAD_TORCH_WEIGHTS_NAME = 'pytorch_model_head.bin';

/** The contents of head_config.json for a flex head. */
export interface HeadConfigFile {
  config: HeadConfig;
  hidden_size: number;
  model_class: string;
  model_name: string | null;
  model_type: string;
  name: string;
  version: string;
  [key: string]: unknown;
}

/** Builds head_config.json's object for a flex head. */
export function buildHeadConfigFile(config: HeadConfig, info: { name: string; hiddenSize: number; modelClass: string; modelName: string | null; modelType: string }): HeadConfigFile {
  return {
    config,
    hidden_size: info.hiddenSize,
    model_class: info.modelClass,
    model_name: info.modelName,
    model_type: info.modelType,
    name: info.name,
    version: ADAPTERS_VERSION,
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * JSON as Python's `json.dump(obj, f, indent=2, sort_keys=True)` writes it:
 * keys sorted, two-space indent, non-ASCII escaped as \uXXXX. (Floats with
 * an integral value print as `1` here, `1.0` in Python; both parse the same.)
 */
export function pythonJson(value: unknown): string {
  const text = JSON.stringify(sortKeys(value), null, 2);
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python model class name for a model type, e.g. 'bert' → 'BertAdapterModel', 'xlm-roberta' → 'XLMRobertaAdapterModel'. */
export function adapterModelClassName(modelType: string): string {
  const special: Record<string, string> = { 'xlm-roberta': 'XLMRoberta', gpt2: 'GPT2', gptj: 'GPTJ', 'bert-generation': 'BertGeneration', mbart: 'MBart', mt5: 'MT5', plbart: 'PLBart', 'deberta-v2': 'DebertaV2' };
  const base = special[modelType] ?? modelType.split(/[-_]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
  return `${base}AdapterModel`;
}
