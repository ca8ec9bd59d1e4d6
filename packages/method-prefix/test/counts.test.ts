/** Parameter counts on bert-base (REFERENCE §10), as Python's adapter_summary reports them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel, initAdapters, parseBertConfig, type AdapterModelApi } from '@adapterkit/core';
import { ejectPrefixTuning } from '../src/index.js';

const BERT_BASE = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0,
};

describe('bert-base parameter counts', () => {
  let model: BertModel & AdapterModelApi;
  beforeAll(() => {
    model = initAdapters(new BertModel(parseBertConfig(BERT_BASE), { initWeights: false }));
  });
  afterAll(() => model.dispose());

  const count = (name: string): number => model.adapterSummaryRows().find((r) => r.name === name)!.numParams;

  it.each([
    ['prefix_tuning', 9_872_384],
    ['prefix_tuning_flat', 552_960],
    ['prompt_tuning', 7_680],
  ])('%s has %i parameters; the base stays 109,482,240', (config, expected) => {
    model.addAdapter('a', config);
    expect(count('a')).toBe(expected);
    expect(count('Full model')).toBe(109_482_240);
    model.deleteAdapter('a');
    expect(count('Full model')).toBe(109_482_240);
  });

  it('prefix_tuning ejected has the flat count (552,960)', () => {
    model.addAdapter('a', 'prefix_tuning');
    ejectPrefixTuning(model, 'a');
    expect(count('a')).toBe(552_960);
    model.deleteAdapter('a');
  });
});
