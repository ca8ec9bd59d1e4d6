/**
 * Parity with the Python `adapters` library (1.3.0): adapters saved by
 * tools/reference/make_lora_fixtures.py are loaded with loadAdapter and the
 * base model's last_hidden_state must match Python's within 1e-4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, loadSafetensors, mul, noGrad, setBackend, type BertModel, type AdapterModelApi, type LlamaModel, type Tensor } from '@adapterkit/core';
import { TEST_BACKEND, TOL, maxAbsDiff, readF32, readJson, reporter } from '@adapterkit/test-utils';
import { layerOf, loraLayers, setLoRASemantics, type LoRA } from '../src/index.js';
import {
  FIXTURES, bertHidden, llamaHidden, loadLlama, loadMiniLM, maxAbsDiffMasked, type LlamaInputs, type MiniLMInputs,
} from './helpers.js';

const report = reporter('LoRA parity with adapters 1.3.0, max |Δ| of last_hidden_state');
afterAll(() => report.print());
beforeAll(() => setBackend(TEST_BACKEND));

describe('all-MiniLM-L6-v2 + Python-saved adapters', () => {
  const dir = new URL('minilm/', FIXTURES);
  const inputs = readJson<MiniLMInputs>(new URL('inputs.json', dir));
  let model: BertModel & AdapterModelApi;
  let expected: Map<string, Tensor>;

  beforeAll(async () => {
    model = await loadMiniLM();
    expected = await loadSafetensors(new URL('expected.safetensors', dir));
  });
  afterAll(() => {
    model.dispose();
    for (const t of expected.values()) t.dispose();
  });

  const check = async (name: string, actual: Float32Array, key: string): Promise<void> => {
    const want = expected.get(`${key}.last_hidden_state`);
    expect(want, key).toBeDefined();
    const d = await maxAbsDiff(actual, want!);
    report.record(name, d);
    expect(d, `${name}: max |Δ| ${d}`).toBeLessThanOrEqual(TOL);
  };

  it('the base model (no adapter) matches', async () => {
    await check('minilm/base', await bertHidden(model, inputs), 'base');
  });

  for (const kase of ['lora', 'lora_full', 'lora_dropout', 'ia3']) {
    it(`${kase}: single adapter`, async () => {
      const name = await model.loadAdapter(new URL(`${kase}/`, dir).pathname, { setActive: true });
      expect(name).toBe(kase);
      try {
        await check(`minilm/${kase}`, await bertHidden(model, inputs), kase);
      } finally {
        model.deleteAdapter(kase);
      }
    });
  }

  it('lora_full: leave_out layers carry no modules', async () => {
    await model.loadAdapter(new URL('lora_full/', dir).pathname);
    const layers = new Set(model.adapterHost.adapterParameters('lora_full').map(([k]) => Number(/layer\.(\d+)\./.exec(k)![1])));
    expect([...layers].sort()).toEqual([0, 2]);
    model.deleteAdapter('lora_full');
  });

  it('lora_gating: Python semantics match; adapterkit semantics equal Python with B scaled by r/alpha (gate times alpha/r, Q10)', async () => {
    await model.loadAdapter(new URL('lora_gating/', dir).pathname, { setActive: true });
    try {
      setLoRASemantics(model, 'python');
      await check('minilm/lora_gating (python semantics)', await bertHidden(model, inputs), 'lora_gating');
      setLoRASemantics(model, 'adapterkit');
      // alpha 4, r 2: adapterkit applies g·2·BAx where Python applies g·BAx.
      scaleLoraB(model, 'lora_gating', 2 / 4);
      await check('minilm/lora_gating (adapterkit semantics, B·r/alpha)', await bertHidden(model, inputs), 'lora_gating');
    } finally {
      setLoRASemantics(model, 'adapterkit');
      model.deleteAdapter('lora_gating');
    }
  });

  it('dora: Python semantics match (Python scales the bias too)', async () => {
    await model.loadAdapter(new URL('dora/', dir).pathname, { setActive: true });
    try {
      setLoRASemantics(model, 'python');
      await check('minilm/dora (python semantics)', await bertHidden(model, inputs), 'dora');
      setLoRASemantics(model, 'adapterkit');
      // With biases the two differ (bias kept vs scaled); the difference must be real, not a no-op.
      const d = await maxAbsDiff(await bertHidden(model, inputs), expected.get('dora.last_hidden_state')!);
      expect(d).toBeGreaterThan(1e-4);
    } finally {
      setLoRASemantics(model, 'adapterkit');
      model.deleteAdapter('dora');
    }
  });

  it("Stack('stack_a', 'stack_b'): Python semantics chain the LoRAs (Q11) and match", async () => {
    await model.loadAdapter(new URL('stack_a/', dir).pathname);
    await model.loadAdapter(new URL('stack_b/', dir).pathname);
    try {
      setLoRASemantics(model, 'python');
      model.setActiveAdapters(new Stack('stack_a', 'stack_b'));
      await check('minilm/stack (python semantics)', await bertHidden(model, inputs), 'stack');
    } finally {
      setLoRASemantics(model, 'adapterkit');
      model.deleteAdapter('stack_a');
      model.deleteAdapter('stack_b');
    }
  });
});

/** Multiplies an adapter's lora_B everywhere by c (test helper). */
function scaleLoraB(model: AdapterModelApi, name: string, c: number): void {
  noGrad(() => {
    for (const l of loraLayers(model.adapterHost)) {
      const m = l.get(name) as LoRA | undefined;
      if (!m) continue;
      const scaled = mul(m.loraB, c);
      m.loraB.assign(scaled);
      scaled.dispose();
    }
  });
}

describe('tiny Llama + Python-saved adapters', () => {
  const dir = new URL('llama/', FIXTURES);
  const inputs = readJson<LlamaInputs>(new URL('inputs.json', dir));
  let model: LlamaModel & AdapterModelApi;
  let expected: Map<string, Tensor>;

  beforeAll(async () => {
    model = await loadLlama();
    expected = await loadSafetensors(new URL('expected.safetensors', dir));
  });
  afterAll(() => {
    model.dispose();
    for (const t of expected.values()) t.dispose();
  });

  // lora: q,v only; ia3: k,v + both MLP projections (Python swaps intermediate/output on Llama, Q9,
  // so only configs that adapt both or neither agree); dora: alpha == r and no biases, so the
  // adapterkit and Python DoRA formulas coincide.
  for (const kase of ['lora', 'ia3', 'dora']) {
    it(`${kase}: single adapter (real tokens compared)`, async () => {
      await model.loadAdapter(new URL(`${kase}/`, dir).pathname, { setActive: true });
      try {
        const want = expected.get(`${kase}.last_hidden_state`)!;
        const d = maxAbsDiffMasked(await llamaHidden(model, inputs), await readF32(want), inputs.attention_mask, want.shape[2]!);
        report.record(`llama/${kase}`, d);
        expect(d, `llama/${kase}: max |Δ| ${d}`).toBeLessThanOrEqual(TOL);
      } finally {
        model.deleteAdapter(kase);
      }
    });
  }

  it('places Llama MLP adapters by data flow: intermediate = up_proj, output = down_proj', () => {
    model.addAdapter('mlp_in', 'lora[selfattn_lora=False, intermediate_lora=True]');
    const names = model.adapterHost.adapterParameters('mlp_in').map(([k]) => k);
    expect(names.every((k) => k.includes('.mlp.up_proj.loras.mlp_in.'))).toBe(true);
    expect(layerOf(model.adapterHost.sitesOf('linear', 'intermediate')[0]!)).toBeDefined();
    model.deleteAdapter('mlp_in');
  });
});
