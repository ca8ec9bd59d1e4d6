/**
 * Parameter counts on bert-base (REFERENCE §10, Python adapter_summary):
 * hidden 768, 12 layers, FFN 3072, vocab 30522, 109,482,240 base parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel, initAdapters, parseBertConfig, setBackend, type AdapterModelApi } from '@adapterkit/core';
import { TEST_BACKEND } from '@adapterkit/test-utils';
import '../src/index.js';

const BERT_BASE = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2, hidden_act: 'gelu',
  layer_norm_eps: 1e-12, pad_token_id: 0, initializer_range: 0.02,
};

let model: BertModel & AdapterModelApi;
beforeAll(() => {
  setBackend(TEST_BACKEND);
  model = initAdapters(new BertModel(parseBertConfig(BERT_BASE), { initWeights: false }));
});
afterAll(() => model.dispose());

describe('parameter counts on bert-base equal Python', () => {
  it.each([
    ['lora', 'lora', 294_912],
    ['lora r8 q,k,v + intermediate + output', "lora[attn_matrices=['q','k','v'], intermediate_lora=True, output_lora=True]", 1_179_648],
    ['ia3', 'ia3', 55_296],
    ['dora', 'dora', 313_344],
  ])('%s (%s): %i parameters', (_label, config, count) => {
    model.addAdapter('a', config);
    const rows = model.adapterSummaryRows();
    expect(rows[0]!.numParams).toBe(count);
    expect(rows.at(-1)).toMatchObject({ name: 'Full model', numParams: 109_482_240 });
    model.deleteAdapter('a');
  });
});
