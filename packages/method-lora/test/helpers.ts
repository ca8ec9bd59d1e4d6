/** Shared test helpers: the fixture models (MiniLM, tiny Llama), inputs and comparisons. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import {
  BertModel, LlamaModel, initAdapters, loadSafetensors, noGrad, parseBertConfig, parseLlamaConfig, tensor, tidy,
  type AdapterModelApi, type Tensor,
} from '@adapterkit/core';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export const MINILM_DIR = new URL('../../../models/all-MiniLM-L6-v2/', import.meta.url);
export const LLAMA_DIR = new URL('../../core/test/fixtures/llama/tiny-untied/', import.meta.url);
/** Parity tolerance (max |Δ|) against the Python reference. */
export const TOL = 1e-4;

export function readJson<T>(url: URL): T {
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

export function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'i32' });
}

/** all-MiniLM-L6-v2 (F16 weights upcast to f32), no pooler, eval mode, with the adapter API. */
export async function loadMiniLM(): Promise<BertModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', MINILM_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false, addPoolingLayer: false });
  const weights = await loadSafetensors(new URL('model.safetensors', MINILM_DIR));
  const base = new Map([...weights].filter(([k]) => !k.startsWith('pooler.')));
  model.loadStateDict(base);
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** The tiny random Llama of core's fixtures (LlamaModel: the base of the saved LlamaForCausalLM), eval mode. */
export async function loadLlama(): Promise<LlamaModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', LLAMA_DIR));
  const model = new LlamaModel(parseLlamaConfig(raw));
  const weights = await loadSafetensors(new URL('model.safetensors', LLAMA_DIR));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
  model.loadStateDict(base);
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

export interface MiniLMInputs {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
}

export interface LlamaInputs {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
}

/** Reads a tensor to the host and disposes it. */
function readAndDispose(t: Tensor): Float32Array {
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

/** last_hidden_state of a BERT forward (no grad), read back to the host. */
export function bertHidden(model: BertModel, inputs: MiniLMInputs): Float32Array {
  return readAndDispose(noGrad(() => tidy(() => {
    const out = model.forward({ inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids) });
    return out.lastHiddenState;
  })));
}

/** last_hidden_state of a Llama forward (no grad). */
export function llamaHidden(model: LlamaModel, inputs: LlamaInputs): Float32Array {
  return readAndDispose(noGrad(() => tidy(() => {
    const out = model.forward({ inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), positionIds: ids(inputs.position_ids) });
    return out.lastHiddenState;
  })));
}

/** max |a − b|; `rowMask` (per [batch, seq] position, feature size `width`) limits it to real tokens. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, rowMask?: { mask: number[][]; width: number }): number {
  expect(a.length, 'element count').toBe(b.length);
  const flatMask = rowMask?.mask.flat();
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (flatMask && !flatMask[Math.floor(i / rowMask!.width)]) continue;
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

/** Measured values, printed at the end of a file for the record. */
export function reporter(title: string): { record(name: string, v: number): void; print(): void } {
  const measured: Record<string, number> = {};
  return {
    record: (name, v) => void (measured[name] = v),
    print: () => console.log(`${title}:\n` + Object.entries(measured).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`).join('\n')),
  };
}

export const TINY_BERT_DIR = new URL('../../core/test/fixtures/bert/bert/', import.meta.url);

/** The tiny random BERT of core's fixtures (hidden 32, 2 layers, biases), eval mode, with the adapter API. */
export async function loadTinyBert(): Promise<BertModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', TINY_BERT_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false, addPoolingLayer: false });
  const weights = await loadSafetensors(new URL('model.safetensors', TINY_BERT_DIR));
  model.loadStateDict(new Map([...weights].filter(([k]) => !k.startsWith('pooler.'))));
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** Tiny-BERT inputs: two rows, the second padded. */
export const TINY_INPUTS: MiniLMInputs = {
  input_ids: [[2, 15, 27, 9, 33, 4, 61], [2, 8, 44, 71, 5, 0, 0]],
  attention_mask: [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]],
  token_type_ids: [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]],
};

export { randomiseAdapter } from './randomise.js';
