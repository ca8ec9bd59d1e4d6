import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BertModel, LlamaModel, initAdapters, loadSafetensors, noGrad, parseBertConfig, parseLlamaConfig, tensor, tidy,
  type AdapterModelApi, type Tensor,
} from '@adapterkit/core';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export const MINILM_DIR = new URL('../../../models/all-MiniLM-L6-v2/', import.meta.url);
export const LLAMA_DIR = new URL('../../core/test/fixtures/llama/tiny-tied/', import.meta.url);
export const TINY_BERT_DIR = new URL('../../core/test/fixtures/bert/bert/', import.meta.url);

/** A file-system path of a fixture URL (loadAdapter takes paths). */
export const pathOf = (u: URL): string => fileURLToPath(u);

export function readJson<T>(u: URL): T {
  return JSON.parse(readFileSync(u, 'utf8')) as T;
}

export function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'i32' });
}

/** max |a − b| after checking shapes (NaN counts as a failure: it propagates as Infinity). */
export function maxAbsDiff(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  if (!(a instanceof Float32Array) && !(b instanceof Float32Array) && a.shape.join() !== b.shape.join()) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const x = a instanceof Float32Array ? a : a.dataSync();
  const y = b instanceof Float32Array ? b : b.dataSync();
  if (x.length !== y.length) throw new Error(`length mismatch: ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** all-MiniLM-L6-v2 (F16 weights upcast to f32) with the adapter API, in eval mode. */
export async function loadMiniLM(): Promise<BertModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', MINILM_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false });
  const weights = await loadSafetensors(new URL('model.safetensors', MINILM_DIR));
  model.loadStateDict(weights, { strict: true });
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** The random tiny Llama of the core fixtures (hidden 32, 2 layers) with the adapter API, in eval mode. */
export async function loadTinyLlama(): Promise<LlamaModel & AdapterModelApi> {
  const model = new LlamaModel(parseLlamaConfig(readJson(new URL('config.json', LLAMA_DIR))));
  const weights = await loadSafetensors(new URL('model.safetensors', LLAMA_DIR));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) {
    if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
    else t.dispose();
  }
  model.loadStateDict(base, { strict: true });
  for (const t of base.values()) t.dispose();
  return initAdapters(model.eval());
}

/** A tiny random BERT (the core fixture config: hidden 32, 2 layers, 4 heads) with the adapter API. */
export function tinyBert(opts: { pooler?: boolean } = {}): BertModel & AdapterModelApi {
  const config = parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR)));
  return initAdapters(new BertModel(config, { addPoolingLayer: opts.pooler ?? false }).eval());
}

/** last_hidden_state as a detached host copy. */
export function hiddenOf(model: { forward(inputs: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor }): { lastHiddenState: Tensor } },
  inputs: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor }): Float32Array {
  const out = noGrad(() => tidy(() => model.forward(inputs).lastHiddenState));
  const data = Float32Array.from(out.dataSync());
  out.dispose();
  return data;
}
