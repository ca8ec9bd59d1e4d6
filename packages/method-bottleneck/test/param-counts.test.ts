/**
 * Trainable-parameter counts on bert-base (hidden 768, 12 layers, FFN 3072,
 * vocab 30522; 109,482,240 base parameters) equal the Python library's
 * (REFERENCE §10). One 440 MB model is built for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertModel, initAdapters, parseBertConfig, setBackend, type AdapterModelApi } from '@adapterkit/core';
import { TEST_BACKEND } from '@adapterkit/test-utils';
import '../src/index.js';

const BERT_BASE = {
  model_type: 'bert', vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
  intermediate_size: 3072, max_position_embeddings: 512, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12,
};

const EXPECTED: Record<string, number> = {
  seq_bn: 894_528,
  double_seq_bn: 1_789_056,
  par_bn: 7_091_712,
  scaled_par_bn: 7_091_724,
  seq_bn_inv: 1_190_592,
  double_seq_bn_inv: 2_085_120,
  compacter: 57_088,
  'compacter++': 28_576,
  'seq_bn[reduction_factor=64]': 230_544,
  'seq_bn[reduction_factor=32]': 451_872,
  'seq_bn[reduction_factor=8]': 1_779_840,
  'seq_bn[reduction_factor=4]': 3_550_464,
  'seq_bn[reduction_factor=2]': 7_091_712,
  'seq_bn[reduction_factor=1]': 14_174_208,
};

let model: BertModel & AdapterModelApi;

beforeAll(() => {
  setBackend(TEST_BACKEND);
  model = initAdapters(new BertModel(parseBertConfig(BERT_BASE), { initWeights: false }));
});
afterAll(() => model?.dispose());

describe('parameter counts on bert-base (Python adapter_summary)', () => {
  it('the base model has 109,482,240 parameters', () => {
    expect(model.adapterSummaryRows().at(-1)).toMatchObject({ name: 'Full model', numParams: 109_482_240 });
  });

  for (const [config, count] of Object.entries(EXPECTED)) {
    it(`${config}: ${count.toLocaleString('en-US')}`, () => {
      model.addAdapter('a', config);
      try {
        const row = model.adapterSummaryRows()[0]!;
        expect(row).toMatchObject({ name: 'a', architecture: 'bottleneck', numParams: count });
        expect(row.percent).toBeCloseTo((count / 109_482_240) * 100, 6);
      } finally {
        model.deleteAdapter('a');
      }
    });
  }
});
