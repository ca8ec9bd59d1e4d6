/**
 * method-lora test helpers: its fixtures, inputs and forwards. The generic ones
 * (fixture models, host reads, comparisons, TOL, reporter) are in @adapterkit/test-utils.
 */
import type { AdapterModelApi, BertModel, LlamaModel } from '@adapterkit/core';
import { ids, loadMiniLM as loadMiniLMBase, loadTinyBert as loadTinyBertBase, loadTinyLlama, readNoGrad } from '@adapterkit/test-utils';

export const FIXTURES = new URL('./fixtures/', import.meta.url);

/** all-MiniLM-L6-v2 without its pooler (as tools/reference/make_lora_fixtures.py), eval mode, with the adapter API. */
export const loadMiniLM = (): Promise<BertModel & AdapterModelApi> => loadMiniLMBase({ pooler: false });

/** core's tiny random BERT (hidden 32, 2 layers, biases) without its pooler. */
export const loadTinyBert = (): Promise<BertModel & AdapterModelApi> => loadTinyBertBase({ pooler: false });

/** core's untied tiny Llama (the base of its saved LlamaForCausalLM), as the Python fixtures used. */
export const loadLlama = (): Promise<LlamaModel & AdapterModelApi> => loadTinyLlama('untied');

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

/** last_hidden_state of a BERT forward (no grad), read back to the host. */
export function bertHidden(model: BertModel, inputs: MiniLMInputs): Promise<Float32Array> {
  return readNoGrad(() => model.forward({
    inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids),
  }).lastHiddenState);
}

/** last_hidden_state of a Llama forward (no grad), read back to the host. */
export function llamaHidden(model: LlamaModel, inputs: LlamaInputs): Promise<Float32Array> {
  return readNoGrad(() => model.forward({
    inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), positionIds: ids(inputs.position_ids),
  }).lastHiddenState);
}

/**
 * max |a − b| over the real tokens only: `mask` is the [batch, seq] attention
 * mask, `width` the feature size of each position (padded positions differ by design).
 */
export function maxAbsDiffMasked(a: ArrayLike<number>, b: ArrayLike<number>, mask: number[][], width: number): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiffMasked: ${a.length} vs ${b.length} elements`);
  const flatMask = mask.flat();
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (!flatMask[Math.floor(i / width)]) continue;
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Tiny-BERT inputs: two rows, the second padded. */
export const TINY_INPUTS: MiniLMInputs = {
  input_ids: [[2, 15, 27, 9, 33, 4, 61], [2, 8, 44, 71, 5, 0, 0]],
  attention_mask: [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]],
  token_type_ids: [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]],
};

export { randomiseAdapter } from './randomise.js';
