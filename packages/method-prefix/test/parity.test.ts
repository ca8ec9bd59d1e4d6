/**
 * Parity with Python `adapters` 1.3.0 (tools/reference/make_prefix_fixtures.py):
 * adapters saved by Python are loaded with loadAdapter and the base model's
 * last_hidden_state must match within 1e-4 on a padded MiniLM batch and on
 * the tiny GQA Llama (plus greedy generation with the KV cache vs HF generate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HfTokenizer, Stack, causalLMFromBase, generate, loadSafetensors, type BertModel, type AdapterModelApi, type LlamaModel, type Tensor,
} from '@adapterkit/core';
import { ejectPrefixTuning, setPromptTuningTokenizer } from '../src/index.js';
import { MINILM_DIR, TOL, ids, loadMiniLM, maxAbsDiffHost, readJson, readNoGrad, reporter } from '@adapterkit/test-utils';
import { FIXTURES, bertHidden, expectedOf, loadLlama, minilmInputs } from './helpers.js';

const measured = reporter('method-prefix parity, max |Δ|');
afterAll(() => measured.print());
const MINILM_FX = new URL('minilm/', FIXTURES);
const ADAPTERS = ['prefix', 'prefix_flat', 'prefix_leave', 'prefix_gating', 'prompt', 'prompt_bos'];

describe('MiniLM: Python-saved prefix and prompt tuning', () => {
  let model: BertModel & AdapterModelApi;
  let expected: Map<string, Tensor>;
  const inputs = minilmInputs();

  beforeAll(async () => {
    model = await loadMiniLM({ pooler: false });
    expected = await loadSafetensors(new URL('expected.safetensors', MINILM_FX));
    for (const name of ADAPTERS) expect(await model.loadAdapter(new URL(`${name}/`, MINILM_FX).pathname)).toBe(name);
  });
  afterAll(() => {
    model.dispose();
    for (const t of expected.values()) t.dispose();
  });

  it('matches the base model with no active adapter (exactly the model without adapters)', async () => {
    model.setActiveAdapters(null);
    const got = await bertHidden(model, inputs);
    const d = maxAbsDiffHost(got, await expectedOf(expected, 'base.last_hidden_state'));
    measured.record('base', d);
    expect(d).toBeLessThanOrEqual(TOL);
  });

  const cases: [string, () => Parameters<AdapterModelApi['setActiveAdapters']>[0]][] = [
    ...ADAPTERS.map((n): [string, () => string] => [n, () => n]),
    ['stack_prefix', () => new Stack('prefix', 'prefix_flat')],
    ['stack_prompt_prefix', () => new Stack('prompt', 'prefix')],
  ];
  it.each(cases)('%s', async (name, setup) => {
    model.setActiveAdapters(setup());
    const got = await bertHidden(model, inputs);
    const want = await expectedOf(expected, `${name}.last_hidden_state`);
    const d = maxAbsDiffHost(got, want);
    measured.record(name, d);
    expect(d).toBeLessThanOrEqual(TOL);
    model.setActiveAdapters(null);
  });

  it('ejectPrefixTuning keeps the outputs (within 1e-5) and makes the config flat', async () => {
    model.setActiveAdapters('prefix');
    const before = await bertHidden(model, inputs);
    ejectPrefixTuning(model, 'prefix');
    const after = await bertHidden(model, inputs);
    const d = maxAbsDiffHost(before, after);
    measured.record('eject', d);
    expect(d).toBeLessThanOrEqual(1e-5);
    expect(model.adapterHost.configs.get('prefix')!.toDict().flat).toBe(true);
    const names = model.adapterHost.adapterParameters('prefix').map(([k]) => k);
    expect(names).toEqual(['prefix_tuning.prefix_tunings.prefix.self_prefix.control_trans']);
    expect(maxAbsDiffHost(after, await expectedOf(expected, 'prefix.last_hidden_state'))).toBeLessThanOrEqual(TOL);
    model.setActiveAdapters(null);
  });

  it("prompt_init 'from_string' copies the tokenized text's embedding rows like Python (tokenizer or ids)", async () => {
    const saved = await loadSafetensors(new URL('prompt_string/adapter.safetensors', MINILM_FX));
    const want = await expectedOf(saved, 'prompt_tuning.prompt_tunings.prompt_string.prompt_embedding.weight');
    const config = readJson<{ config: Record<string, unknown> }>(new URL('prompt_string/adapter_config.json', MINILM_FX)).config;
    const tokenizer = new HfTokenizer(readJson(new URL('tokenizer.json', MINILM_DIR)), readJson(new URL('tokenizer_config.json', MINILM_DIR)));
    for (const source of [tokenizer, inputs.prompt_init_ids]) {
      setPromptTuningTokenizer(model, source);
      model.addAdapter('from_string', config, { overwriteOk: true });
      const got = await model.adapterHost.adapterParameters('from_string')[0]![1].data();
      expect(maxAbsDiffHost(got, want)).toBe(0);
    }
    model.deleteAdapter('from_string');
    setPromptTuningTokenizer(model, null);
    for (const t of saved.values()) t.dispose();
  });
});

interface LlamaCase {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  generate: { adapter: string; prompt: number[]; max_new_tokens: number; eos_token_id: number; new_tokens: number[]; base_new_tokens: number[] };
  generate_batch: { adapter: string; prompts: number[][]; max_new_tokens: number; eos_token_id: number; new_tokens: number[][] };
}

describe('tiny Llama (GQA): Python-saved prefix tuning (with the per-layer pool aliases Python writes)', () => {
  let model: LlamaModel & AdapterModelApi;
  let lmHead: Tensor;
  let expected: Map<string, Tensor>;
  const fx = new URL('llama/', FIXTURES);
  const kase = readJson<LlamaCase>(new URL('case.json', fx));

  beforeAll(async () => {
    ({ model, lmHead } = await loadLlama());
    expected = await loadSafetensors(new URL('expected.safetensors', fx));
    for (const name of ['prefix', 'prefix_gen']) await model.loadAdapter(new URL(`${name}/`, fx).pathname);
  });
  afterAll(() => {
    model.dispose();
    lmHead.dispose();
    for (const t of expected.values()) t.dispose();
  });

  const hidden = (): Promise<Float32Array> => readNoGrad(() => model.forward({
    inputIds: ids(kase.input_ids), attentionMask: ids(kase.attention_mask), positionIds: ids(kase.position_ids),
  }).lastHiddenState);

  it('uses the KV heads and matches last_hidden_state on a padded batch (gated and ungated)', async () => {
    const [name, w] = model.adapterHost.adapterParameters('prefix').find(([k]) => k.endsWith('control_trans.2.weight'))!;
    expect(name).toBe('prefix_tuning.prefix_tunings.prefix.self_prefix.control_trans.2.weight');
    expect(w.shape).toEqual([2 * 2 * 2 * 8, 16]); // layers · (key, value) · KV heads · head size
    for (const setup of [null, 'prefix', 'prefix_gen']) {
      model.setActiveAdapters(setup);
      const d = maxAbsDiffHost(await hidden(), await expectedOf(expected, `${setup ?? 'base'}.last_hidden_state`));
      measured.record(`llama_${setup ?? 'base'}`, d);
      expect(d).toBeLessThanOrEqual(TOL);
    }
  });

  it('greedy generation, with and without the KV cache, equals HF greedy decoding (single prompt and a left-padded batch)', async () => {
    // The reference decodes without a cache (Python's cached Llama generation is broken, see the fixture script);
    // with an ungated prefix, cached and full decoding must agree.
    const lm = causalLMFromBase(model, lmHead);
    const g = kase.generate;
    const gb = kase.generate_batch;
    model.setActiveAdapters(g.adapter);
    for (const useCache of [true, false]) {
      const one = await generate(lm, g.prompt, { maxNewTokens: g.max_new_tokens, eosTokenId: g.eos_token_id, useCache });
      expect(one.newTokens[0], `useCache ${useCache}`).toEqual(g.new_tokens);
      const batch = await generate(lm, gb.prompts, { maxNewTokens: gb.max_new_tokens, eosTokenId: gb.eos_token_id, padTokenId: 0, useCache });
      expect(batch.newTokens, `batch, useCache ${useCache}`).toEqual(gb.new_tokens);
    }
    model.setActiveAdapters(null);
    const base = await generate(lm, g.prompt, { maxNewTokens: g.max_new_tokens, eosTokenId: g.eos_token_id });
    expect(base.newTokens[0]).toEqual(g.base_new_tokens);
  });
});
