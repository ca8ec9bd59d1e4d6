/** Shared test helpers: fixture models, inputs, seeded adapter weights and comparisons. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  AdapterModel, BertModel, LlamaModel, add, initAdapters, loadSafetensors, noGrad, parseBertConfig, parseLlamaConfig, randn, tensor, tidy,
  type AdapterModelApi, type AdapterSetup, type Tensor,
} from '@adapterkit/core';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export const MINILM_DIR = new URL('../../../models/all-MiniLM-L6-v2/', import.meta.url);
export const TINY_BERT_DIR = new URL('../../core/test/fixtures/bert/bert/', import.meta.url);
export const LLAMA_DIR = new URL('../../core/test/fixtures/llama/tiny-tied/', import.meta.url);
/** Parity tolerance (max |Δ|) against the Python reference. */
export const TOL = 1e-4;

export const pathOf = (u: URL): string => fileURLToPath(u);

export function readJson<T>(u: URL): T {
  return JSON.parse(readFileSync(u, 'utf8')) as T;
}

export function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'i32' });
}

/** max |a − b| after checking shapes (NaN counts as a failure). */
export function maxAbsDiff(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  if (!(a instanceof Float32Array) && !(b instanceof Float32Array) && a.shape.join() !== b.shape.join()) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const x = a instanceof Float32Array ? a : (a.dataSync() as Float32Array);
  const y = b instanceof Float32Array ? b : (b.dataSync() as Float32Array);
  if (x.length !== y.length) throw new Error(`length mismatch: ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** all-MiniLM-L6-v2 (F16 weights upcast to f32) with the adapter API, eval mode. */
export async function loadMiniLM(): Promise<BertModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', MINILM_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false });
  const weights = await loadSafetensors(new URL('model.safetensors', MINILM_DIR));
  model.loadStateDict(weights, { strict: true });
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** The tiny BERT of core's fixtures (hidden 32, 2 layers, 4 heads) with its saved weights, eval mode. */
export async function loadTinyBert(): Promise<BertModel & AdapterModelApi> {
  const model = new BertModel(parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR))), { initWeights: false });
  const weights = await loadSafetensors(new URL('model.safetensors', TINY_BERT_DIR));
  const base = new Map([...weights].map(([k, t]) => [k.replace(/^bert\./, ''), t] as [string, Tensor]));
  model.loadStateDict(base);
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** A random tiny BERT with heads (AdapterModel, base prefix 'bert'). */
export function tinyAdapterModel(): AdapterModel {
  const base = new BertModel(parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR))));
  return new AdapterModel(base, { basePrefix: 'bert' }).eval() as AdapterModel;
}

/** The random tiny Llama of core's fixtures (hidden 32, 2 layers) with the adapter API, eval mode. */
export async function loadTinyLlama(): Promise<LlamaModel & AdapterModelApi> {
  const model = new LlamaModel(parseLlamaConfig(readJson(new URL('config.json', LLAMA_DIR))));
  const weights = await loadSafetensors(new URL('model.safetensors', LLAMA_DIR));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
  model.loadStateDict(base, { strict: true });
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/**
 * Overwrites every parameter of an adapter with seeded random values
 * N(0, std²) (scales such as (IA)³ vectors and layer-norm weights: 1 + noise),
 * so zero-initialised parts do not make a test trivial.
 */
export function randomiseAdapter(model: AdapterModelApi, name: string, seed: number, std = 0.1): void {
  let i = 0;
  const params = model.adapterHost.adapterParameters(name);
  const keys = new Set(params.map(([k]) => k));
  noGrad(() => {
    for (const [key, p] of params) {
      tidy(() => {
        const noise = randn(p.shape, { std, seed: seed * 1000 + i++, dtype: p.dtype, backend: p.backend });
        const isScale = (key.endsWith('lora_B') && !keys.has(key.replace(/lora_B$/, 'lora_A'))) || /norm.*\.weight$/.test(key);
        p.assign(isScale ? add(noise, 1) : noise);
      });
    }
  });
}

type Feed = { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor };

/** last_hidden_state (host copy) with a setup active for this call. */
export function hiddenWith(model: { adapterHost: AdapterModelApi['adapterHost']; forward(i: Feed): { lastHiddenState: Tensor } }, setup: AdapterSetup | null, feed: Feed): Float32Array {
  return model.adapterHost.withSetup(setup, () => {
    const out = noGrad(() => tidy(() => model.forward(feed).lastHiddenState));
    const data = Float32Array.from(out.dataSync() as Float32Array);
    out.dispose();
    return data;
  });
}

/** Rows [start, start + n) of a host copy of a [rows, ...] tensor with `per` values per row. */
export function rowsOf(data: Float32Array, start: number, n: number, per: number): Float32Array {
  return data.slice(start * per, (start + n) * per);
}
