import { getBackend, setBackend } from '../backend/registry.js';
import { loadSafetensorsFromBuffer } from '../io/safetensors-file.js';
import { loadSafetensorsWeights } from '../io/sharded.js';
import { staticToFlexHead } from '../heads/static-to-flex.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { HfTokenizer } from '../tokenizers/hf-tokenizer.js';
import { AdapterModel } from './adapter-model.js';
import { listKeys, planWeightMapping, readConfigJson, type IgnoredKey } from './config-loader.js';
import { modelTypeEntry, supportedModelTypes } from './registry.js';

/** Options of `AutoAdapterModel.fromPretrained`. */
export interface FromPretrainedOptions {
  /** Backend to build the model on; it becomes the current backend. Default: the current one. */
  backend?: string;
  /** Parameter dtype (default f32, whatever the checkpoint stores, as HF's default). */
  dtype?: DType;
  /** Load tokenizer.json when present (default true). */
  loadTokenizer?: boolean;
  /** Where notices about ignored checkpoint weights go (default console.warn; pass () => {} to silence). */
  onWarning?: (message: string) => void;
}

/** What loading did with the checkpoint, kept on the model as `loadReport`. */
export interface LoadReport {
  /** The directory or file loaded. */
  source: string;
  /** Number of tensors loaded into the model. */
  loaded: number;
  /** Checkpoint keys deliberately not loaded, with reasons. */
  ignored: IgnoredKey[];
  /** Model weights left freshly initialised on purpose (e.g. a pooler the checkpoint lacks). */
  newlyInitialized: string[];
  /** Heads created from the checkpoint: from config.json `prediction_heads`, or 'default' converted from a static HF head. */
  headsCreated: string[];
}

/** An AdapterModel loaded from disk, with its report. */
export type PretrainedAdapterModel = AdapterModel & { loadReport: LoadReport };

async function statPath(p: string): Promise<'file' | 'dir'> {
  const { stat } = await import('node:fs/promises');
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : 'file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `fromPretrained: no such file or directory: ${p}` : `fromPretrained: cannot access ${p}: ${code ?? (e as Error).message}`);
  }
}

async function fileExists(p: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function disposeAll(ts: Iterable<Tensor>): void {
  for (const t of ts) t.dispose();
}

/** The architecture config.json names (`architectures[0]`), if any. */
function architectureOf(raw: Record<string, unknown>): string | undefined {
  const a = raw.architectures;
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
}

/** Importing the built-in architectures registers their model types (idempotent). */
async function registerBuiltInModels(): Promise<void> {
  await Promise.all([import('./bert/index.js'), import('./llama/index.js')]);
}

/** Where `assemble` gets the checkpoint's pieces: a directory (Node) or bytes in memory (`fromFiles`). */
interface CheckpointSource {
  /** Names the checkpoint in messages and in the load report. */
  name: string;
  /** Loads every weight as a backend tensor (called once the model is built). */
  weights(): Promise<Map<string, Tensor>>;
  /** The tokenizer, or undefined when there is none. */
  tokenizer(): Promise<HfTokenizer | undefined>;
}

async function fromDirectory(dir: string, opts: FromPretrainedOptions): Promise<PretrainedAdapterModel> {
  const raw = await readConfigJson(dir);
  return assemble(raw, {
    name: dir,
    weights: () => loadSafetensorsWeights(dir),
    async tokenizer() {
      const { join } = await import('node:path');
      const tj = join(dir, 'tokenizer.json');
      return (await fileExists(tj)) ? HfTokenizer.fromFile(tj) : undefined;
    },
  }, opts);
}

/** Builds the model config.json describes and loads the checkpoint's weights (and tokenizer) into it. */
async function assemble(raw: Record<string, unknown>, source: CheckpointSource, opts: FromPretrainedOptions): Promise<PretrainedAdapterModel> {
  const dir = source.name;
  const warn = opts.onWarning ?? ((m: string) => console.warn(m));
  await registerBuiltInModels();
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') {
    throw new Error(`${dir}/config.json has no 'model_type'; supported model types: ${supportedModelTypes().join(', ') || 'none registered (import the model packages)'}`);
  }
  const entry = modelTypeEntry(modelType);
  const config = entry.parseConfig(raw);
  const base = entry.createBase(config);
  const model = new AdapterModel(base, { basePrefix: entry.basePrefix, nameOrPath: typeof raw._name_or_path === 'string' && raw._name_or_path ? raw._name_or_path : dir });
  try {
    if (opts.dtype) model.castTo(opts.dtype);
    const headsCreated: string[] = [];
    // Heads saved by the Python AdapterModel (config.json "prediction_heads"), in order; the last becomes active.
    const saved = raw.prediction_heads;
    if (saved && typeof saved === 'object') {
      for (const [name, cfg] of Object.entries(saved as Record<string, Record<string, unknown>>)) {
        model.addHeadFromConfig(name, { ...cfg }, { overwriteOk: true });
        headsCreated.push(name);
      }
    }
    // A static HF task head (BertForSequenceClassification, LlamaForCausalLM, …) becomes flex head 'default', as Python does.
    const arch = architectureOf(raw);
    const conversion = arch ? staticToFlexHead(arch, 'default', raw) : undefined;
    if (conversion) {
      model.addHeadFromConfig('default', conversion.config, { overwriteOk: true });
      headsCreated.push('default');
    }

    const weights = await source.weights();
    try {
      const headState = model.heads.stateDict();
      const baseParams = new Set<Tensor>(base.parameters());
      const tied = new Set([...headState].filter(([, t]) => baseParams.has(t)).map(([k]) => k));
      const plan = planWeightMapping(weights.keys(), {
        basePrefix: entry.basePrefix,
        baseKeys: new Set(base.stateDict().keys()),
        headKeys: new Set(headState.keys()),
        tiedHeadKeys: tied,
        headRename: conversion?.rename,
        checkpointHead: arch,
      });
      const problems: string[] = [];
      if (plan.missing.length) problems.push(`the checkpoint lacks ${plan.missing.length} weight(s) the model needs: ${listKeys(plan.missing)}`);
      if (plan.unexpected.length) problems.push(`${plan.unexpected.length} checkpoint weight(s) match no parameter of the ${modelType} model: ${listKeys(plan.unexpected)}`);
      if (problems.length) {
        const sample = listKeys([...weights.keys()].slice(0, 5), 5);
        throw new Error(`fromPretrained(${dir}): ${problems.join('; ')} (checkpoint keys start: ${sample})`);
      }
      try {
        base.loadStateDict(new Map([...plan.base].map(([k, target]) => [target, weights.get(k)!])), { strict: false });
        if (plan.heads.size) {
          model.heads.loadStateDict(new Map([...plan.heads].map(([k, target]) => [target.slice('heads.'.length), weights.get(k)!])), { strict: false });
        }
      } catch (e) {
        throw new Error(`fromPretrained(${dir}): ${(e as Error).message}`);
      }
      const notable = plan.ignored.filter((i) => !i.reason.startsWith('a buffer'));
      if (notable.length) warn(`fromPretrained(${dir}): ignored ${notable.length} checkpoint weight(s): ${listKeys(notable.map((i) => i.key), 10)} (${notable[0]!.reason})`);
      if (plan.newlyInitialized.length) warn(`fromPretrained(${dir}): ${plan.newlyInitialized.length} weight(s) are not in the checkpoint and keep their fresh initialisation: ${listKeys(plan.newlyInitialized, 10)}`);
      const report: LoadReport = { source: dir, loaded: plan.base.size + plan.heads.size, ignored: plan.ignored, newlyInitialized: plan.newlyInitialized, headsCreated };
      Object.assign(model, { loadReport: report });
    } finally {
      disposeAll(weights.values());
    }
    model.nameParameters();
    if (opts.loadTokenizer ?? true) model.tokenizer = (await source.tokenizer()) ?? model.tokenizer;
    // HF returns pretrained models in eval mode (dropout off).
    model.eval();
    return model as PretrainedAdapterModel;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

async function fromGguf(file: string, opts: FromPretrainedOptions): Promise<PretrainedAdapterModel> {
  const llama = await import('./llama/index.js');
  const { model: base, lmHeadWeight, gguf } = await llama.loadLlamaGguf(file);
  const model = new AdapterModel(base, { basePrefix: 'model', nameOrPath: file });
  try {
    if (opts.dtype) model.castTo(opts.dtype);
    // LlamaForCausalLM's lm_head as a flex head, as Python converts it: one bias-free Linear, tied when the file has no output.weight.
    const head = model.addHeadFromConfig('default', { head_type: 'causal_lm' }, { tieWordEmbeddings: lmHeadWeight === null });
    if (lmHeadWeight) {
      head.loadStateDict(new Map([['0.weight', lmHeadWeight]]));
      lmHeadWeight.dispose();
    }
    model.nameParameters();
    if ((opts.loadTokenizer ?? true) && gguf.metadata['tokenizer.ggml.model'] === 'llama') {
      const { LlamaSpmTokenizer } = await import('../tokenizers/llama-spm.js');
      model.tokenizer = LlamaSpmTokenizer.fromGgufMetadata(gguf.metadata);
    }
    const report: LoadReport = { source: file, loaded: base.stateDict().size + (lmHeadWeight ? 1 : 0), ignored: [], newlyInitialized: [], headsCreated: ['default'] };
    Object.assign(model, { loadReport: report });
    model.eval();
    return model as PretrainedAdapterModel;
  } catch (e) {
    model.dispose();
    lmHeadWeight?.dispose();
    throw e;
  }
}

/** A model's files held in memory, e.g. fetched in a browser (see `AutoAdapterModel.fromFiles`). */
export interface PretrainedFiles {
  /** config.json: its text, bytes or parsed object. */
  config: string | Uint8Array | Record<string, unknown>;
  /** The weights: one safetensors file (model.safetensors; shards are not supported here). */
  weights: Uint8Array;
  /** tokenizer.json (text, bytes or object), if the model has one. */
  tokenizer?: string | Uint8Array | Record<string, unknown>;
  /** tokenizer_config.json, if any (padding side, model_max_length, …). */
  tokenizerConfig?: string | Uint8Array | Record<string, unknown>;
  /** Names the model in messages and the load report, and in saved configs when config.json has no `_name_or_path` (default '<memory>'). */
  source?: string;
}

function jsonObject(what: string, v: string | Uint8Array | Record<string, unknown>): Record<string, unknown> {
  if (typeof v === 'object' && !(v instanceof Uint8Array)) return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof v === 'string' ? v : new TextDecoder().decode(v));
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${what} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

/**
 * Loads models by config.json `model_type` (Python `AutoAdapterModel`).
 */
export const AutoAdapterModel = {
  /**
   * Loads a Hugging Face model directory (config.json + model.safetensors
   * or a sharded model.safetensors.index.json, + tokenizer.json when
   * present) or a Llama-family .gguf file into an `AdapterModel`.
   *
   * Checkpoint names are matched with or without the base prefix
   * ('bert.', 'roberta.', 'model.'); gamma/beta LayerNorm names are renamed;
   * a static HF head (BertForSequenceClassification's classifier,
   * LlamaForCausalLM's lm_head, …) becomes flex head 'default', and heads
   * listed in config.json `prediction_heads` are rebuilt, as in Python.
   * Missing and unexpected weights are errors listing them; weights
   * deliberately skipped (HF buffers, task heads with no flex equivalent)
   * are listed in `model.loadReport.ignored` and, except buffers, reported
   * through `onWarning`.
   */
  async fromPretrained(dirOrFile: string, opts: FromPretrainedOptions = {}): Promise<PretrainedAdapterModel> {
    const kind = await statPath(dirOrFile);
    const previous = getBackend().name;
    if (opts.backend) setBackend(opts.backend);
    try {
      if (kind === 'file') {
        if (!dirOrFile.toLowerCase().endsWith('.gguf')) {
          throw new Error(`fromPretrained: ${dirOrFile} is a file but not a .gguf; pass the model directory (with config.json) instead`);
        }
        return await fromGguf(dirOrFile, opts);
      }
      return await fromDirectory(dirOrFile, opts);
    } catch (e) {
      // Leave the global backend as it was when loading fails.
      if (opts.backend) setBackend(previous);
      throw e;
    }
  },

  /**
   * `fromPretrained` for a model whose files are already in memory — in a
   * browser, fetched bytes — with no file system involved: the same
   * config parsing, weight-name matching, head conversion and checks.
   *
   * ```ts
   * const bytes = async (f: string) => new Uint8Array(await (await fetch(`/model/${f}`)).arrayBuffer());
   * const model = await AutoAdapterModel.fromFiles({
   *   config: await bytes('config.json'), weights: await bytes('model.safetensors'), tokenizer: await bytes('tokenizer.json'),
   * }, { backend: 'webgpu' });
   * ```
   */
  async fromFiles(files: PretrainedFiles, opts: FromPretrainedOptions = {}): Promise<PretrainedAdapterModel> {
    const name = files.source ?? '<memory>';
    const raw = jsonObject(`${name}: config.json`, files.config);
    const previous = getBackend().name;
    if (opts.backend) setBackend(opts.backend);
    try {
      return await assemble(raw, {
        name,
        weights: async () => loadSafetensorsFromBuffer(files.weights, { source: `${name}: weights` }),
        async tokenizer() {
          if (files.tokenizer === undefined) return undefined;
          const cfg = files.tokenizerConfig === undefined ? {} : jsonObject(`${name}: tokenizer_config.json`, files.tokenizerConfig);
          return new HfTokenizer(jsonObject(`${name}: tokenizer.json`, files.tokenizer), cfg, `${name}: tokenizer.json`);
        },
      }, opts);
    } catch (e) {
      if (opts.backend) setBackend(previous);
      throw e;
    }
  },
};
