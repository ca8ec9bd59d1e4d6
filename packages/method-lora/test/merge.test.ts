/**
 * mergeAdapter / resetAdapter: merged output equals unmerged (non-zero B),
 * reset output equals the original, and the error cases. all-MiniLM-L6-v2
 * with the Python fixture adapters for LoRA and (IA)³; the tiny random BERT
 * (biases everywhere) with seeded random adapters for the rest, to stay fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, setBackend, type AdapterModelApi, type BertModel } from '@adapterkit/core';
import { TEST_BACKEND, maxAbsDiffHost, readF32, readJson, reporter } from '@adapterkit/test-utils';
import { mergeAdapter, mergedAdapters, resetAdapter, setLoRASemantics } from '../src/index.js';
import { FIXTURES, TINY_INPUTS, bertHidden, loadMiniLM, loadTinyBert, randomiseAdapter, type MiniLMInputs } from './helpers.js';

const MERGE_TOL = 1e-5;
const report = reporter('LoRA merge, max |Δ| merged vs unmerged / reset vs original');
beforeAll(() => setBackend(TEST_BACKEND));
afterAll(() => report.print());

/** Unmerged → merged → reset on `model`, checking outputs at each step against `base` (no adapter). */
async function roundTrip(model: BertModel & AdapterModelApi, inputs: MiniLMInputs, base: Float32Array, name: string, label: string, keepOriginal = true): Promise<void> {
  model.setActiveAdapters(name);
  const unmerged = await bertHidden(model, inputs);
  expect(maxAbsDiffHost(unmerged, base)).toBeGreaterThan(1e-3); // the adapter really changes the output
  mergeAdapter(model, name, { keepOriginal });
  const dm = maxAbsDiffHost(await bertHidden(model, inputs), unmerged);
  report.record(`${label}: merged vs unmerged`, dm);
  expect(dm).toBeLessThanOrEqual(MERGE_TOL);
  // The merged weights alone (no active adapter) carry the adapter.
  model.setActiveAdapters(null);
  expect(maxAbsDiffHost(await bertHidden(model, inputs), unmerged)).toBeLessThanOrEqual(MERGE_TOL);
  resetAdapter(model);
  expect(mergedAdapters(model)).toEqual([]);
  const dr = maxAbsDiffHost(await bertHidden(model, inputs), base);
  report.record(`${label}: reset vs original`, dr);
  if (keepOriginal) expect(dr).toBe(0);
  else expect(dr).toBeLessThanOrEqual(MERGE_TOL);
  model.setActiveAdapters(name);
  expect(maxAbsDiffHost(await bertHidden(model, inputs), unmerged)).toBeLessThanOrEqual(MERGE_TOL);
}

describe('merge on all-MiniLM-L6-v2 (Python fixture adapters)', () => {
  const dir = new URL('minilm/', FIXTURES);
  const inputs = readJson<MiniLMInputs>(new URL('inputs.json', dir));
  let model: BertModel & AdapterModelApi;
  let base: Float32Array;
  beforeAll(async () => {
    model = await loadMiniLM();
    base = await bertHidden(model, inputs);
  });
  afterAll(() => model.dispose());

  for (const kase of ['lora', 'ia3']) {
    it(`${kase}: merged == unmerged, reset == original`, async () => {
      await model.loadAdapter(new URL(`${kase}/`, dir).pathname);
      try {
        await roundTrip(model, inputs, base, kase, `minilm/${kase}`);
      } finally {
        model.deleteAdapter(kase);
      }
    });
  }
});

describe('merge on the tiny BERT (random adapters)', () => {
  let model: BertModel & AdapterModelApi;
  let base: Float32Array;
  beforeAll(async () => {
    model = await loadTinyBert();
    base = await bertHidden(model, TINY_INPUTS);
  });
  afterAll(() => model.dispose());

  const cases: [string, string][] = [
    ['lora_full', "lora[r=4, alpha=12, attn_matrices=['q','k','v'], intermediate_lora=True, output_lora=True]"],
    ['ia3', 'ia3[output_lora=True]'],
    ['dora', 'dora[r=4, alpha=16, intermediate_lora=True]'],
  ];
  for (const [name, config] of cases) {
    it(`${name}: merged == unmerged, reset == original`, async () => {
      model.addAdapter(name, config);
      randomiseAdapter(model, name, 11);
      try {
        await roundTrip(model, TINY_INPUTS, base, name, `tiny/${name}`);
      } finally {
        model.deleteAdapter(name);
      }
    });
  }

  it('DoRA under Python semantics merges to what that forward computes (bias scaled too)', async () => {
    model.addAdapter('dora_py', 'dora[r=4, alpha=16]');
    randomiseAdapter(model, 'dora_py', 12);
    setLoRASemantics(model, 'python');
    try {
      await roundTrip(model, TINY_INPUTS, base, 'dora_py', 'tiny/dora (python semantics)');
    } finally {
      setLoRASemantics(model, 'adapterkit');
      model.deleteAdapter('dora_py');
    }
  });

  it('LoRA and (IA)³ without keeping the original: reset subtracts / divides the adapter out', async () => {
    const fresh = await loadTinyBert();
    const freshBase = await bertHidden(fresh, TINY_INPUTS);
    for (const [name, config] of cases.slice(0, 2)) {
      fresh.addAdapter(name, config!);
      randomiseAdapter(fresh, name, 13);
      await roundTrip(fresh, TINY_INPUTS, freshBase, name, `tiny/${name} (keepOriginal false)`, false);
      fresh.deleteAdapter(name);
    }
    fresh.dispose();
  });

  it('merging the same adapter twice is a no-op; another one, a gated one, a non-LoRA one is an error', async () => {
    model.addAdapter('a', 'lora');
    model.addAdapter('b', 'lora[r=2]');
    model.addAdapter('g', 'lora[use_gating=True]');
    for (const [i, n] of ['a', 'b', 'g'].entries()) randomiseAdapter(model, n, 20 + i);
    model.setActiveAdapters('a');
    const unmerged = await bertHidden(model, TINY_INPUTS);
    mergeAdapter(model, 'a');
    const weight = model.getParameter('encoder.layer.0.attention.self.query.weight');
    const once = await readF32(weight);
    mergeAdapter(model, 'a');
    expect(await readF32(weight)).toEqual(once);
    expect(mergedAdapters(model)).toHaveLength(4); // q and v of 2 layers
    expect(mergedAdapters(model)[0]).toEqual({ name: 'a', layer: 0, location: 'selfattn', key: 'q' });
    expect(() => mergeAdapter(model, 'b')).toThrow(/adapter 'a' is already merged at layer 0 selfattn.q; call resetAdapter\(\) before merging 'b'/);
    resetAdapter(model);
    expect(() => mergeAdapter(model, 'g')).toThrow(/adapter 'g' uses gating .* cannot be merged/);
    expect(mergedAdapters(model)).toEqual([]); // nothing half-merged
    expect(() => mergeAdapter(model, 'nope')).toThrow(/no adapter named 'nope'/);
    mergeAdapter(model, 'a');
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), unmerged)).toBeLessThanOrEqual(MERGE_TOL);
    // Deleting a merged adapter restores the weights first.
    model.deleteAdapter('a');
    expect(mergedAdapters(model)).toEqual([]);
    model.setActiveAdapters(null);
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
    model.deleteAdapter('b');
    model.deleteAdapter('g');
  });

  it('a merged adapter inside a Stack is not applied twice', async () => {
    model.addAdapter('s1', 'lora[r=2, alpha=4]');
    model.addAdapter('s2', 'ia3');
    randomiseAdapter(model, 's1', 31);
    randomiseAdapter(model, 's2', 32);
    model.setActiveAdapters(new Stack('s1', 's2'));
    const unmerged = await bertHidden(model, TINY_INPUTS);
    mergeAdapter(model, 's1');
    const d = maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), unmerged);
    report.record("tiny Stack('s1' lora, 's2' ia3) with s1 merged vs unmerged", d);
    expect(d).toBeLessThanOrEqual(MERGE_TOL);
    resetAdapter(model, 's1');
    model.deleteAdapter('s1');
    model.deleteAdapter('s2');
  });
});
