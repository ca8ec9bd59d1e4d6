/** Shared test helpers: the fixture models (MiniLM, tiny Llama), inputs and comparisons. */
import { readFileSync } from 'node:fs';
import {
  BertModel, LlamaModel, initAdapters, loadSafetensors, manualSeed, noGrad, parseBertConfig, parseLlamaConfig, randn, tensor, tidy,
  type AdapterHost, type AdapterModelApi, type Tensor,
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

/** all-MiniLM-L6-v2 (F16 weights upcast to f32), eval mode, with the adapter API. */
export async function loadMiniLM(): Promise<BertModel & AdapterModelApi> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', MINILM_DIR));
  const model = new BertModel(parseBertConfig(raw), { initWeights: false, addPoolingLayer: false });
  const weights = await loadSafetensors(new URL('model.safetensors', MINILM_DIR));
  model.loadStateDict(new Map([...weights].filter(([k]) => !k.startsWith('pooler.'))));
  for (const t of weights.values()) t.dispose();
  return initAdapters(model.eval());
}

/** The tiny random Llama of core's fixtures (the base of its LlamaForCausalLM) and its LM head matrix. */
export async function loadLlama(): Promise<{ model: LlamaModel & AdapterModelApi; lmHead: Tensor }> {
  const raw = readJson<Record<string, unknown>>(new URL('config.json', LLAMA_DIR));
  const model = new LlamaModel(parseLlamaConfig(raw));
  const weights = await loadSafetensors(new URL('model.safetensors', LLAMA_DIR));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
  model.loadStateDict(base);
  const lmHead = weights.get('lm_head.weight')!;
  for (const [k, t] of weights) if (k !== 'lm_head.weight') t.dispose();
  return { model: initAdapters(model.eval()), lmHead };
}

export interface MiniLMInputs {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  prompt_init_text: string;
  prompt_init_ids: number[];
}

export const minilmInputs = (): MiniLMInputs => readJson<MiniLMInputs>(new URL('minilm/inputs.json', FIXTURES));

/** Runs `fn` without gradients and returns the result's values (the tensor is freed). */
export async function values(fn: () => Tensor): Promise<Float32Array> {
  const t = noGrad(() => tidy(fn));
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** last_hidden_state of a BERT forward on the fixture inputs. */
export function bertHidden(model: BertModel, inputs: MiniLMInputs, withMask = true): Promise<Float32Array> {
  return values(() => model.forward({
    inputIds: ids(inputs.input_ids),
    attentionMask: withMask ? ids(inputs.attention_mask) : undefined,
    tokenTypeIds: ids(inputs.token_type_ids),
  }).lastHiddenState);
}

/** max |a − b| (lengths must agree). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: ${a.length} vs ${b.length} elements`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/** The values of a fixture tensor by name. */
export async function expectedOf(file: Map<string, Tensor>, key: string): Promise<Float32Array> {
  const t = file.get(key);
  if (!t) throw new Error(`fixture tensor '${key}' missing; have ${[...file.keys()].join(', ')}`);
  return (await t.data()) as Float32Array;
}

/** A small random BERT (hidden 32, 3 layers, 4 heads), seeded, eval mode, with the adapter API. */
export function tinyBert(seed = 1): BertModel & AdapterModelApi {
  manualSeed(seed);
  const config = parseBertConfig({
    model_type: 'bert', vocab_size: 99, hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 37,
    hidden_act: 'gelu', max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0,
    hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
  });
  return initAdapters(new BertModel(config, { addPoolingLayer: false }).eval());
}

/** A small random Llama with grouped-query attention (4 heads, 2 KV heads), seeded, eval mode. */
export function tinyLlama(seed = 1): LlamaModel & AdapterModelApi {
  manualSeed(seed);
  const config = parseLlamaConfig({
    model_type: 'llama', vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
  });
  return initAdapters(new LlamaModel(config).eval());
}

/** Padded token batch for the tiny models: row 0 full, row 1 padded by 3. */
export const TINY_IDS = [[5, 17, 42, 9, 33, 7], [5, 21, 8, 0, 0, 0]];
export const TINY_MASK = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];

/** Overwrites every parameter of an adapter with N(0, std²) values (seeded), so zero-free, sizeable weights. */
export function randomizeAdapter(host: AdapterHost, name: string, seed: number, std = 0.5): void {
  manualSeed(seed);
  noGrad(() => {
    for (const [, p] of host.adapterParameters(name)) {
      const r = randn(p.shape, { std });
      p.assign(r);
      r.dispose();
    }
  });
}
