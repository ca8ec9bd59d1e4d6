import { readFileSync } from 'node:fs';
import {
  BertModel, LlamaModel, initAdapters, loadSafetensors, parseBertConfig, parseLlamaConfig, tensor,
  type AdapterModelApi, type Tensor,
} from '@adapterkit/core';

/** The embedded all-MiniLM-L6-v2 (F16 safetensors) of the repository. */
export const MINILM_DIR = new URL('../../../models/all-MiniLM-L6-v2/', import.meta.url);
/** core's fixture models (tools/reference/make_*_fixtures.py). */
export const CORE_FIXTURES = new URL('../../core/test/fixtures/', import.meta.url);
export const TINY_BERT_DIR = new URL('bert/bert/', CORE_FIXTURES);
export const TINY_LLAMA_DIRS = {
  tied: new URL('llama/tiny-tied/', CORE_FIXTURES),
  untied: new URL('llama/tiny-untied/', CORE_FIXTURES),
} as const;
/** Parity tolerance (max |Δ|) against the Python reference, on every backend. */
export const TOL = 1e-4;

export function readJson<T>(u: URL): T {
  return JSON.parse(readFileSync(u, 'utf8')) as T;
}

/** An i32 [rows, cols] tensor of token ids (or masks). */
export function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'i32' });
}

/**
 * all-MiniLM-L6-v2 (F16 weights upcast to f32) in eval mode with the adapter
 * API; `pooler: false` drops the pooler (the sentence-transformers export has one).
 */
export async function loadMiniLM(opts: { pooler?: boolean } = {}): Promise<BertModel & AdapterModelApi> {
  const pooler = opts.pooler ?? true;
  const raw = readJson<Record<string, unknown>>(new URL('config.json', MINILM_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false, addPoolingLayer: pooler });
  const weights = await loadSafetensors(new URL('model.safetensors', MINILM_DIR));
  if (pooler) model.loadStateDict(weights, { strict: true });
  else model.loadStateDict(new Map([...weights].filter(([k]) => !k.startsWith('pooler.'))), { strict: true });
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** The tiny random BERT of core's fixtures (hidden 32, 2 layers, 4 heads), eval mode, with the adapter API. */
export async function loadTinyBert(opts: { pooler?: boolean } = {}): Promise<BertModel & AdapterModelApi> {
  const pooler = opts.pooler ?? true;
  const model = new BertModel(parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR))), { initWeights: false, addPoolingLayer: pooler });
  const weights = await loadSafetensors(new URL('model.safetensors', TINY_BERT_DIR));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) {
    const key = k.replace(/^bert\./, '');
    if (pooler || !key.startsWith('pooler.')) base.set(key, t);
  }
  model.loadStateDict(base);
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** core's tiny random Llama (the base of its saved LlamaForCausalLM), eval mode, with the adapter API. */
export async function loadTinyLlama(variant: keyof typeof TINY_LLAMA_DIRS): Promise<LlamaModel & AdapterModelApi> {
  const dir = TINY_LLAMA_DIRS[variant];
  const model = new LlamaModel(parseLlamaConfig(readJson(new URL('config.json', dir))));
  const weights = await loadSafetensors(new URL('model.safetensors', dir));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
  model.loadStateDict(base, { strict: true });
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}
