/**
 * method-prefix test helpers: its fixtures, inputs, small seeded models and adapter weights.
 * The generic ones (fixture models, host reads, comparisons, TOL) are in @adapterkit/test-utils.
 */
import {
  BertModel, LlamaModel, initAdapters, loadSafetensors, manualSeed, noGrad, parseBertConfig, parseLlamaConfig, randn,
  type AdapterHost, type AdapterModelApi, type Tensor,
} from '@adapterkit/core';
import { TINY_LLAMA_DIRS, ids, loadTinyLlama, readJson, readNoGrad } from '@adapterkit/test-utils';

export const FIXTURES = new URL('./fixtures/', import.meta.url);

/** core's untied tiny Llama (the base of its LlamaForCausalLM, as the Python fixtures used) and its LM head matrix. */
export async function loadLlama(): Promise<{ model: LlamaModel & AdapterModelApi; lmHead: Tensor }> {
  const model = await loadTinyLlama('untied');
  const weights = await loadSafetensors(new URL('model.safetensors', TINY_LLAMA_DIRS.untied));
  const lmHead = weights.get('lm_head.weight')!;
  for (const [k, t] of weights) if (k !== 'lm_head.weight') t.dispose();
  return { model, lmHead };
}

export interface MiniLMInputs {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  prompt_init_text: string;
  prompt_init_ids: number[];
}

export const minilmInputs = (): MiniLMInputs => readJson<MiniLMInputs>(new URL('minilm/inputs.json', FIXTURES));

/** last_hidden_state of a BERT forward on the fixture inputs (no grad), read back to the host. */
export function bertHidden(model: BertModel, inputs: MiniLMInputs, withMask = true): Promise<Float32Array> {
  return readNoGrad(() => model.forward({
    inputIds: ids(inputs.input_ids),
    attentionMask: withMask ? ids(inputs.attention_mask) : undefined,
    tokenTypeIds: ids(inputs.token_type_ids),
  }).lastHiddenState);
}

/** The values of a fixture tensor by name. */
export async function expectedOf(file: Map<string, Tensor>, key: string): Promise<Float32Array> {
  const t = file.get(key);
  if (!t) throw new Error(`fixture tensor '${key}' missing; have ${[...file.keys()].join(', ')}`);
  return Float32Array.from(await t.data());
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
