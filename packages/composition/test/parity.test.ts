/**
 * Parity with the Python `adapters` library (1.3.0), fixtures from
 * tools/reference/make_composition_fixtures.py: Python-saved adapters,
 * fusions and setups are loaded here and every block's output must match
 * Python's within 1e-4 (MiniLM, tiny BERT, tiny Llama).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdapterModel, BertModel, Parallel, add, dispose, loadSafetensors, matmul, noGrad, parseBertConfig, setBackend, tensor, tidy,
  type CompositionBlock, type Tensor,
} from '@adapterkit/core';
import {
  TEST_BACKEND, TINY_BERT_DIR, TOL, ids, loadMiniLM, loadTinyBert, maxAbsDiff, readF32, readJson, reporter,
} from '@adapterkit/test-utils';
import { addAdapterFusion, fusionParameters, setupFromDict, type SetupDict } from '../src/index.js';
import { FIXTURES, hiddenWith, loadTinyLlama, pathOf } from './helpers.js';

interface CaseSpec {
  setup: SetupDict;
  note: string;
  fusions?: Record<string, string>;
}
interface ModelCases {
  adapters: Record<string, string>;
  cases: Record<string, CaseSpec>;
}
const spec = readJson<{ minilm: ModelCases; tiny_bert: ModelCases; llama: ModelCases }>(new URL('cases.json', FIXTURES));

beforeAll(() => setBackend(TEST_BACKEND));
const measured = reporter('composition parity, max |Δ|');
afterAll(() => measured.print());

const setupOf = (c: CaseSpec): CompositionBlock => setupFromDict(c.setup) as CompositionBlock;

/** Sets a MiniLM fusion's weights from the stored low-rank factors: W = U·V (+ I for the value matrix), biases as stored. */
function applyFactors(model: { adapterHost: Parameters<typeof fusionParameters>[0] }, fusion: string, factors: Map<string, Tensor>): void {
  noGrad(() => {
    for (const [key, p] of fusionParameters(model.adapterHost, fusion)) {
      const layer = /encoder\.layer\.(\d+)\./.exec(key)![1];
      const part = key.split(`adapter_fusion_layer.${fusion}.`)[1]!;
      const tag = `${fusion}.${layer}.${part}`;
      tidy(() => {
        let w: Tensor;
        if (part.endsWith('weight')) {
          w = matmul(factors.get(`${tag}.U`)!, factors.get(`${tag}.V`)!);
          if (part.startsWith('value')) {
            const n = p.shape[0]!;
            const eye = new Float32Array(n * n);
            for (let i = 0; i < n; i++) eye[i * n + i] = 1;
            w = add(w, tensor(eye, [n, n]));
          }
        } else {
          w = factors.get(tag)!;
        }
        p.assign(w);
      });
    }
  });
}

describe('all-MiniLM-L6-v2: every block matches Python', () => {
  const fx = new URL('minilm/', FIXTURES);
  const inputs = readJson<{ input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }>(new URL('inputs.json', fx));
  let model: Awaited<ReturnType<typeof loadMiniLM>>;
  let expected: Map<string, Tensor>;
  let feed: { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor };

  beforeAll(async () => {
    model = await loadMiniLM();
    expected = await loadSafetensors(new URL('expected.safetensors', fx));
    feed = { inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids) };
    for (const name of Object.keys(spec.minilm.adapters)) await model.loadAdapter(pathOf(new URL(`${name}/`, fx)));
    const factors = await loadSafetensors(new URL('fusion_factors.safetensors', fx));
    addAdapterFusion(model, ['a', 'b'], 'dynamic');
    addAdapterFusion(model, ['a', 'b'], 'static', { name: 'ab_static' });
    applyFactors(model, 'a,b', factors);
    applyFactors(model, 'ab_static', factors);
    for (const t of factors.values()) t.dispose();
  });
  afterAll(() => {
    model?.dispose();
    for (const t of expected?.values() ?? []) t.dispose();
  });

  it('without adapters gives the base output', async () => {
    const d = await maxAbsDiff(await hiddenWith(model, null, feed), expected.get('base.last_hidden_state')!);
    measured.record('minilm/base', d);
    expect(d).toBeLessThanOrEqual(TOL);
  });

  for (const [name, c] of Object.entries(spec.minilm.cases)) {
    it(`${name}: ${setupFromDict(c.setup).toString()}`, async () => {
      const d = await maxAbsDiff(await hiddenWith(model, setupOf(c), feed), expected.get(`${name}.last_hidden_state`)!);
      measured.record(`minilm/${name}`, d);
      expect(d).toBeLessThanOrEqual(TOL);
    });
  }
});

describe('tiny BERT: Python-saved fusions, setup and multi-head Parallel', () => {
  const fx = new URL('tiny_bert/', FIXTURES);
  const inputs = readJson<{ input_ids: number[][]; attention_mask: number[][] }>(new URL('inputs.json', fx));
  const feed = () => ({ inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask) });
  let expected: Map<string, Tensor>;
  beforeAll(async () => {
    expected = await loadSafetensors(new URL('expected.safetensors', fx));
  });
  afterAll(() => {
    for (const t of expected?.values() ?? []) t.dispose();
  });

  it('fusions saved by Python (dynamic, static, custom config and names) load and match', async () => {
    const model = await loadTinyBert();
    try {
      for (const n of ['a', 'b', 'c']) await model.loadAdapter(pathOf(new URL(`${n}/`, fx)));
      for (const f of ['a,b,c', 'bc_static', 'ac_custom']) expect(await model.loadAdapterFusion(pathOf(new URL(`${f}/`, fx)))).toBe(f);
      for (const name of ['fuse_dynamic', 'fuse_static', 'fuse_custom', 'stack_fuse']) {
        const d = await maxAbsDiff(await hiddenWith(model, setupOf(spec.tiny_bert.cases[name]!), feed()), expected.get(`${name}.last_hidden_state`)!);
        measured.record(`tiny_bert/${name}`, d);
        expect(d, name).toBeLessThanOrEqual(TOL);
      }
    } finally {
      model.dispose();
    }
  });

  it('a setup saved by Python (save_adapter_setup) loads with its fusion and matches', async () => {
    const model = await loadTinyBert();
    try {
      const { adapterSetup, headSetup } = await model.loadAdapterSetup(pathOf(new URL('setup/', fx)), { setActive: true });
      expect(adapterSetup.toString()).toBe('Stack(Fuse(\'a\', \'b\', \'c\'), \'b\')');
      expect(headSetup).toBeNull();
      const d = await maxAbsDiff(await hiddenWith(model, model.activeAdapters, feed()), expected.get('stack_fuse.last_hidden_state')!);
      measured.record('tiny_bert/setup', d);
      expect(d).toBeLessThanOrEqual(TOL);
    } finally {
      model.dispose();
    }
  });

  it('Parallel inference with two heads gives Python\'s per-head logits and summed loss', async () => {
    const base = new BertModel(parseBertConfig(readJson(new URL('config.json', TINY_BERT_DIR))), { initWeights: false });
    const weights = await loadSafetensors(new URL('model.safetensors', TINY_BERT_DIR));
    base.loadStateDict(weights);
    for (const t of weights.values()) t.dispose();
    const model = new AdapterModel(base, { basePrefix: 'bert' });
    model.eval();
    try {
      await model.loadAdapter(pathOf(new URL('ha/', fx)));
      await model.loadAdapter(pathOf(new URL('hb/', fx)));
      model.setActiveAdapters(new Parallel('ha', 'hb'));
      const out = noGrad(() => tidy(() => model.forward({ ...feed(), labels: tensor(Int32Array.from([1, 0]), [2], { dtype: 'i32' }) })));
      const d0 = await maxAbsDiff(out.headOutputs![0]!.logits, expected.get('parallel_heads.0.logits')!);
      const d1 = await maxAbsDiff(out.headOutputs![1]!.logits, expected.get('parallel_heads.1.logits')!);
      const dl = Math.abs((await readF32(out.loss!))[0]! - (await readF32(expected.get('parallel_heads.loss')!))[0]!);
      dispose(out);
      measured.record('tiny_bert/parallel_heads.0.logits', d0);
      measured.record('tiny_bert/parallel_heads.1.logits', d1);
      measured.record('tiny_bert/parallel_heads.loss', dl);
      expect(Math.max(d0, d1, dl)).toBeLessThanOrEqual(TOL);
    } finally {
      model.dispose();
    }
  });
});

describe('tiny Llama: Parallel and BatchSplit match Python', () => {
  it('bottleneck and LoRA channels, (IA)³ batch split', async () => {
    const fx = new URL('llama/', FIXTURES);
    const inputs = readJson<{ input_ids: number[][]; attention_mask: number[][] }>(new URL('inputs.json', fx));
    const model = await loadTinyLlama();
    const expected = await loadSafetensors(new URL('expected.safetensors', fx));
    try {
      for (const n of Object.keys(spec.llama.adapters)) await model.loadAdapter(pathOf(new URL(`${n}/`, fx)));
      const feed = { inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask) };
      const base = await maxAbsDiff(await hiddenWith(model, null, feed), expected.get('base.last_hidden_state')!);
      measured.record('llama/base', base);
      expect(base).toBeLessThanOrEqual(TOL);
      for (const [name, c] of Object.entries(spec.llama.cases)) {
        const d = await maxAbsDiff(await hiddenWith(model, setupOf(c), feed), expected.get(`${name}.last_hidden_state`)!);
        measured.record(`llama/${name}`, d);
        expect(d, name).toBeLessThanOrEqual(TOL);
      }
    } finally {
      model.dispose();
      for (const t of expected.values()) t.dispose();
    }
  });
});
