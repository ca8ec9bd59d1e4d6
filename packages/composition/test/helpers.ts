/**
 * composition test helpers: fixtures, seeded adapter weights, forwards under a setup.
 * The generic ones (fixture models, host reads, comparisons, TOL) are in @adapterkit/test-utils.
 */
import { fileURLToPath } from 'node:url';
import {
  AdapterModel, BertModel, add, noGrad, parseBertConfig, randn, tidy,
  type AdapterModelApi, type AdapterSetup, type LlamaModel, type Tensor,
} from '@adapterkit/core';
import { TINY_BERT_DIR, loadTinyLlama as loadLlama, readAndDispose, readJson } from '@adapterkit/test-utils';

export const FIXTURES = new URL('./fixtures/', import.meta.url);

export const pathOf = (u: URL): string => fileURLToPath(u);

/** The tied tiny Llama of core's fixtures (the one tools/reference/make_composition_fixtures.py used). */
export const loadTinyLlama = (): Promise<LlamaModel & AdapterModelApi> => loadLlama('tied');

/** A random tiny BERT with heads (AdapterModel, base prefix 'bert'). */
export function tinyAdapterModel(): AdapterModel {
  const base = new BertModel(parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR))));
  return new AdapterModel(base, { basePrefix: 'bert' }).eval() as AdapterModel;
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

/**
 * last_hidden_state (host copy) with a setup active for this call. The forward
 * runs synchronously under the setup; only the read-back is awaited. A forward
 * that throws rejects the promise.
 */
export async function hiddenWith(model: { adapterHost: AdapterModelApi['adapterHost']; forward(i: Feed): { lastHiddenState: Tensor } }, setup: AdapterSetup | null, feed: Feed): Promise<Float32Array> {
  const out = model.adapterHost.withSetup(setup, () => noGrad(() => tidy(() => model.forward(feed).lastHiddenState)));
  return readAndDispose(out);
}

/** Rows [start, start + n) of a host copy of a [rows, ...] tensor with `per` values per row. */
export function rowsOf(data: Float32Array, start: number, n: number, per: number): Float32Array {
  return data.slice(start * per, (start + n) * per);
}
