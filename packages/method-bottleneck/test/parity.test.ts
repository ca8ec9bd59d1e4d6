/**
 * Parity with the Python `adapters` library (1.3.0): adapters saved there
 * (tools/reference/make_bottleneck_fixtures.py) are loaded with loadAdapter
 * and last_hidden_state must match the Python output within 1e-4, on
 * all-MiniLM-L6-v2 (post-LN BERT) and on the tiny random Llama (pre-LN).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, loadSafetensors, setBackend, type Tensor } from '@adapterkit/core';
import { TEST_BACKEND, TOL, ids, loadMiniLM, maxAbsDiff, readJson, reporter } from '@adapterkit/test-utils';
import '../src/index.js';
import { FIXTURES, hiddenOf, loadTinyLlama, pathOf } from './helpers.js';

interface CaseSpec {
  adapters: Record<string, string>;
  setup: string[];
}
interface Cases {
  minilm: Record<string, CaseSpec>;
  llama: Record<string, CaseSpec>;
}

const cases = readJson<Cases>(new URL('cases.json', FIXTURES));

const report = reporter('Bottleneck parity with adapters 1.3.0, max |Δ| of last_hidden_state');
beforeAll(() => setBackend(TEST_BACKEND));
afterAll(() => report.print());

describe('all-MiniLM-L6-v2: Python-saved adapters', () => {
  const fx = new URL('minilm/', FIXTURES);
  const inputs = readJson<{ input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }>(new URL('inputs.json', fx));
  let model: Awaited<ReturnType<typeof loadMiniLM>>;
  let expected: Map<string, Tensor>;
  let feed: { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor };

  beforeAll(async () => {
    model = await loadMiniLM();
    expected = await loadSafetensors(new URL('expected.safetensors', fx));
    feed = { inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids) };
    // Every adapter of every case lives in the one model; each case activates its own.
    for (const spec of Object.values(cases.minilm)) {
      for (const name of Object.keys(spec.adapters)) await model.loadAdapter(pathOf(new URL(`${name}/`, fx)));
    }
  });
  afterAll(() => {
    model?.dispose();
    for (const t of expected?.values() ?? []) t.dispose();
  });

  it('without an active adapter gives the base model output', async () => {
    model.setActiveAdapters(null);
    const d = await maxAbsDiff(await hiddenOf(model, feed), expected.get('base.last_hidden_state')!);
    report.record('minilm/base', d);
    expect(d).toBeLessThanOrEqual(TOL);
  });

  for (const [name, spec] of Object.entries(cases.minilm)) {
    it(`${name} (${Object.values(spec.adapters).join(' + ')}) matches Python`, async () => {
      model.setActiveAdapters(spec.setup.length > 1 ? new Stack(...spec.setup) : spec.setup[0]!);
      const d = await maxAbsDiff(await hiddenOf(model, feed), expected.get(`${name}.last_hidden_state`)!);
      report.record(`minilm/${name}`, d);
      expect(d).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('tiny Llama: Python-saved adapters', () => {
  const fx = new URL('llama/', FIXTURES);
  const inputs = readJson<{ input_ids: number[][] }>(new URL('inputs.json', fx));

  it('matches Python for every case (adapters on the pre-LN residual sites)', async () => {
    const model = await loadTinyLlama();
    const expected = await loadSafetensors(new URL('expected.safetensors', fx));
    const feed = { inputIds: ids(inputs.input_ids) };
    try {
      const d0 = await maxAbsDiff(await hiddenOf(model, feed), expected.get('base.last_hidden_state')!);
      report.record('llama/base', d0);
      expect(d0).toBeLessThanOrEqual(TOL);
      for (const [name, spec] of Object.entries(cases.llama)) {
        for (const a of Object.keys(spec.adapters)) await model.loadAdapter(pathOf(new URL(`${a}/`, fx)));
        model.setActiveAdapters(spec.setup[0]!);
        const d = await maxAbsDiff(await hiddenOf(model, feed), expected.get(`${name}.last_hidden_state`)!);
        report.record(`llama/${name}`, d);
        expect(d, name).toBeLessThanOrEqual(TOL);
      }
      // Python's Llama names: layers.N.attention_adapters.adapters.<name>… / output_adapters.
      const names = model.adapterHost.adapterParameters('double_seq_bn').map(([k]) => k);
      expect(names).toContain('layers.0.attention_adapters.adapters.double_seq_bn.adapter_down.0.weight');
      expect(names).toContain('layers.1.output_adapters.adapters.double_seq_bn.adapter_up.bias');
    } finally {
      model.dispose();
      for (const t of expected.values()) t.dispose();
    }
  });
});
