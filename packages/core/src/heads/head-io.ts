import type { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, serializeSafetensors } from '../io/safetensors-file.js';
import { writeFilesAtomic } from '../adapters/files.js';
import type { AdapterModel, IdToLabel } from '../models/adapter-model.js';
import { label2IdFromId2Label } from './config.js';
import { HEAD_CONFIG_NAME, HEAD_TORCH_WEIGHTS_NAME, HEAD_WEIGHTS_NAME, pythonJson } from './head-files.js';
import { staticToFlexHead } from './static-to-flex.js';

/**
 * Saving and loading one prediction head in the Python `adapters` layout:
 * a directory with head_config.json and model_head.safetensors (what
 * `model.save_head(dir, name)` / `load_head` use with use_safetensors=True).
 */

/** Options of `loadHead`. */
export interface LoadHeadOptions {
  /** Name to give the head (default: the saved name). */
  loadAs?: string;
  /** Make it the active head (default true). */
  setActive?: boolean;
  /** Replace the saved labels. */
  idToLabel?: IdToLabel;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

async function isFile(p: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The files of head `name` in the Python layout, in memory: file name →
 * bytes. `head_config.json` as Python writes it, and `model_head.safetensors`
 * with the head's weights under their full names (`heads.<name>.…`; a tied
 * decoder weight is included, as Python's state-dict filter includes it).
 * Works anywhere, browsers included; `saveHead` writes exactly these bytes.
 */
export async function headFiles(model: AdapterModel, name: string): Promise<Map<string, Uint8Array>> {
  const config = new TextEncoder().encode(pythonJson(model.headConfigFile(name)));
  return new Map([
    [HEAD_CONFIG_NAME, config],
    [HEAD_WEIGHTS_NAME, await serializeSafetensors(model.headStateDict(name))],
  ]);
}

/** Writes head `name` to `dir` (created if needed): the files of `headFiles`, each atomically. */
export async function saveHead(model: AdapterModel, dir: string, name: string): Promise<void> {
  await writeFilesAtomic(dir, await headFiles(model, name));
}

/**
 * Loads a head saved by `saveHead` or by the Python library (head_config.json
 * + model_head.safetensors) into `model`, replacing a head of the same name.
 * A head saved from a different model class is an error, except static HF
 * heads (config null, model_class e.g. BertForSequenceClassification), which
 * are converted to flex heads as Python does (then `loadAs` names them,
 * default 'default'). Weights the head shares with the base model (a tied
 * decoder) are not overwritten: they are the base model's embeddings, and
 * Python's copy of them into the embeddings is left out on purpose.
 * Returns the head's name.
 */
export async function loadHead(model: AdapterModel, dir: string, opts: LoadHeadOptions = {}): Promise<string> {
  const { join } = await import('node:path');
  const cfgFile = join(dir, HEAD_CONFIG_NAME);
  const weightsFile = join(dir, HEAD_WEIGHTS_NAME);
  if (!(await isFile(weightsFile))) {
    const torch = await isFile(join(dir, HEAD_TORCH_WEIGHTS_NAME));
    throw new Error(
      torch
        ? `${dir} holds ${HEAD_TORCH_WEIGHTS_NAME} (torch pickle), which cannot be read here; re-save the head with use_safetensors=True`
        : `no ${HEAD_WEIGHTS_NAME} in ${dir}`,
    );
  }
  const file = await readJson(cfgFile);
  const modelClass = String(file.model_class);
  let name: string;
  let config: Record<string, unknown>;
  let rename: (key: string) => string | undefined;
  if (file.config && typeof file.config === 'object' && modelClass === model.modelClass) {
    const saved = String(file.name);
    name = opts.loadAs ?? saved;
    config = { ...(file.config as Record<string, unknown>) };
    const from = `heads.${saved}.`;
    rename = (k) => (k.startsWith(from) ? `${name}.${k.slice(from.length)}` : undefined);
  } else if (file.config === null || file.config === undefined) {
    name = opts.loadAs ?? 'default';
    const conv = staticToFlexHead(modelClass, name, { label2id: file.label2id, num_labels: file.num_labels });
    if (!conv) throw new Error(`${cfgFile}: cannot convert the static head of ${modelClass} to a flex head (no conversion rule)`);
    config = conv.config;
    rename = (k) => conv.rename(k)?.slice('heads.'.length);
  } else {
    throw new Error(`${cfgFile}: the head was saved from model class '${modelClass}' and cannot be loaded into ${model.modelClass}`);
  }
  if (opts.idToLabel) {
    delete config.id2label;
    config.label2id = label2IdFromId2Label(opts.idToLabel as Record<number, string>);
  }
  const head = model.buildHead(name, config);
  const weights = await loadSafetensors(weightsFile);
  try {
    const shared = new Set<Tensor>(model.base.parameters());
    const own = head.stateDict();
    const dict = new Map<string, Tensor>();
    const unexpected: string[] = [];
    for (const [k, t] of weights) {
      const rel = rename(k);
      const local = rel?.startsWith(`${name}.`) ? rel.slice(name.length + 1) : undefined;
      if (local === undefined || !own.has(local)) unexpected.push(k);
      else if (!shared.has(own.get(local)!)) dict.set(local, t);
    }
    const missing = [...own].filter(([k, t]) => !dict.has(k) && !shared.has(t)).map(([k]) => `heads.${name}.${k}`);
    if (unexpected.length || missing.length) {
      const parts = [];
      if (missing.length) parts.push(`missing weights: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected weights: ${unexpected.join(', ')}`);
      throw new Error(`loadHead(${dir}): ${parts.join('; ')}`);
    }
    head.loadStateDict(dict, { strict: false });
  } catch (e) {
    model.releaseHead(head);
    throw e;
  } finally {
    for (const t of weights.values()) t.dispose();
  }
  model.addHead(head, { overwriteOk: true, setActive: opts.setActive ?? true });
  return name;
}
