/** method-bottleneck test helpers; the generic ones (fixture models, host reads, comparisons) are in @adapterkit/test-utils. */
import { fileURLToPath } from 'node:url';
import { BertModel, initAdapters, parseBertConfig, type AdapterModelApi, type LlamaModel, type Tensor } from '@adapterkit/core';
import { TINY_BERT_DIR, loadTinyLlama as loadLlama, readJson, readNoGrad } from '@adapterkit/test-utils';

export const FIXTURES = new URL('./fixtures/', import.meta.url);

/** A file-system path of a fixture URL (loadAdapter takes paths). */
export const pathOf = (u: URL): string => fileURLToPath(u);

/** The tied tiny Llama of core's fixtures (the one tools/reference/make_bottleneck_fixtures.py used). */
export const loadTinyLlama = (): Promise<LlamaModel & AdapterModelApi> => loadLlama('tied');

/** A tiny BERT with the core fixture config (hidden 32, 2 layers, 4 heads) and random weights, with the adapter API. */
export function tinyBert(opts: { pooler?: boolean } = {}): BertModel & AdapterModelApi {
  const config = parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR)));
  return initAdapters(new BertModel(config, { addPoolingLayer: opts.pooler ?? false }).eval());
}

/** last_hidden_state of a no-grad forward, as a host copy. */
export function hiddenOf(model: { forward(inputs: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor }): { lastHiddenState: Tensor } },
  inputs: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor }): Promise<Float32Array> {
  return readNoGrad(() => model.forward(inputs).lastHiddenState);
}
