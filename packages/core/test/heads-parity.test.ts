/**
 * Parity with the Python `adapters` library's flex heads on a tiny random
 * BertAdapterModel (fixtures from tools/reference/make_head_fixtures.py):
 * loading its save_pretrained directory and its save_head directories,
 * logits and losses of every head type, and head_config.json text.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispose, setBackend, tensor, type Tensor } from '../src/index.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';
import '../src/models/bert/index.js';
import '../src/models/llama/index.js';
import { AutoAdapterModel, type PretrainedAdapterModel } from '../src/models/auto.js';
import type { AdapterModelInputs } from '../src/models/adapter-model.js';
import { pythonJson } from '../src/heads/index.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'heads');
type Nested = number | Nested[];
interface HeadExpect {
  loss: number;
  logits?: Nested;
  start_logits?: Nested;
  end_logits?: Nested;
}
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as {
  inputs: Record<string, Nested>;
  labels: Record<string, Nested>;
  qa_positions: { start_positions: number[]; end_positions: number[] };
  last_hidden_state: Nested;
  pooled_output: Nested;
  heads: Record<string, HeadExpect>;
};
const TOL = 1e-4;

function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}
function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : [];
}
function t(x: Nested, dtype: 'f32' | 'i32' = 'i32'): Tensor {
  return tensor(flat(x), shapeOf(x), { dtype });
}
async function maxDiff(a: Tensor, b: Nested): Promise<number> {
  const av = Array.from(await a.data());
  const bv = flat(b);
  expect(av.length).toBe(bv.length);
  return av.reduce((m, v, i) => Math.max(m, Math.abs(v - bv[i]!)), 0);
}

/** Max |Δ| over rows [batch·seq, …] of a [batch, seq, n] tensor where `keep` is 1. */
async function maxDiffWhere(a: Tensor, b: Nested, keep: number[]): Promise<number> {
  const av = Array.from(await a.data());
  const bv = flat(b);
  const n = av.length / keep.length;
  let m = 0;
  keep.forEach((k, r) => {
    if (k) for (let j = r * n; j < (r + 1) * n; j++) m = Math.max(m, Math.abs(av[j]! - bv[j]!));
  });
  return m;
}

/** |loss − expected| of a scalar loss tensor. */
async function lossDiff(loss: Tensor, expected: number): Promise<number> {
  return Math.abs((await loss.data())[0]! - expected);
}

const diffs: Record<string, number> = {};
let model: PretrainedAdapterModel;

function inputsFor(head: string): AdapterModelInputs {
  const i = expected.inputs;
  if (head === 'mc') return { inputIds: t(i.mc_input_ids!), attentionMask: t(i.mc_attention_mask!), labels: t(expected.labels.mc!), head };
  const base: AdapterModelInputs = { inputIds: t(i.input_ids!), attentionMask: t(i.attention_mask!), tokenTypeIds: t(i.token_type_ids!), head };
  if (head === 'qa') return { ...base, startPositions: t(expected.qa_positions.start_positions), endPositions: t(expected.qa_positions.end_positions) };
  return { ...base, labels: t(expected.labels[head]!, head === 'reg' ? 'f32' : 'i32') };
}

beforeAll(async () => {
  setBackend(TEST_BACKEND);
  model = await AutoAdapterModel.fromPretrained(join(FIX, 'model'), { onWarning: () => {} });
});
afterAll(() => {
  model?.dispose();
  console.log('heads parity max |Δ| vs Python adapters:', JSON.stringify(diffs));
});

describe('flex heads vs Python adapters (BertAdapterModel, tiny random config)', () => {
  it('rebuilds every head from config.json prediction_heads and loads the save_pretrained weights', () => {
    expect(model.heads.names()).toEqual(['clm', 'cls', 'mc', 'mlm', 'multi', 'pooled', 'qa', 'reg', 'tag']);
    expect(model.loadReport.headsCreated.length).toBe(9);
    // Tied decoders were not in the file and share the word embeddings.
    expect(model.getParameter('heads.mlm.3.weight')).toBe(model.base.inputEmbeddings());
    expect(model.getParameter('heads.clm.3.weight')).toBe(model.base.inputEmbeddings());
  });

  for (const head of ['cls', 'reg', 'multi', 'pooled', 'tag', 'mc', 'qa', 'mlm', 'clm']) {
    it(`${head}: logits and loss match`, async () => {
      const e = expected.heads[head]!;
      const out = model.forward(inputsFor(head));
      let d = await lossDiff(out.loss!, e.loss);
      if (head === 'qa') d = Math.max(d, await maxDiff(out.startLogits!, e.start_logits!), await maxDiff(out.endLogits!, e.end_logits!));
      else d = Math.max(d, await maxDiff(out.logits, e.logits!));
      dispose(out);
      diffs[head] = d;
      expect(d).toBeLessThanOrEqual(TOL);
    });
  }

  it('heads alone, on the Python base outputs, match too (isolates the head math)', async () => {
    const lastHiddenState = t(expected.last_hidden_state, 'f32');
    const pooledOutput = t(expected.pooled_output, 'f32');
    const attentionMask = t(expected.inputs.attention_mask!);
    for (const head of ['cls', 'multi', 'pooled', 'tag', 'mlm', 'clm']) {
      const out = model.getHead(head).forward({ lastHiddenState, pooledOutput }, { labels: inputsFor(head).labels, attentionMask });
      const d = Math.max(await maxDiff(out.logits, expected.heads[head]!.logits!), await lossDiff(out.loss!, expected.heads[head]!.loss));
      diffs[`${head}(head only)`] = d;
      expect(d).toBeLessThanOrEqual(TOL);
    }
  });

  it('loads save_head directories (head_config.json + model_head.safetensors) with equal outputs', async () => {
    for (const head of ['cls', 'tag', 'qa', 'mlm', 'mc']) {
      const name = await model.loadHead(join(FIX, `head-${head}`), { loadAs: `${head}_copy` });
      expect(name).toBe(`${head}_copy`);
      const a = model.forward({ ...inputsFor(head), head });
      const b = model.forward({ ...inputsFor(head), head: name });
      expect(Array.from(await b.logits.data())).toEqual(Array.from(await a.logits.data()));
      dispose([a, b]);
      model.deleteHead(name);
    }
  });

  it('writes head_config.json exactly as Python does (but for the version)', () => {
    model.nameOrPath = '';
    for (const head of ['cls', 'reg', 'multi', 'tag', 'mc', 'qa', 'mlm', 'clm']) {
      const python = readFileSync(join(FIX, `head-${head}`, 'head_config.json'), 'utf8').replace(/"adapters\.[0-9.]+"/, '"VERSION"');
      const ours = pythonJson(model.headConfigFile(head)).replace(/"(adapters|adapterkit)\.[0-9.]+"/, '"VERSION"');
      expect(ours).toBe(python);
    }
  });
});

const staticExpected = JSON.parse(readFileSync(join(FIX, 'static', 'expected.json'), 'utf8')) as {
  input_ids: number[][];
  attention_mask: number[][];
  models: Record<string, { logits?: Nested; start_logits?: Nested; end_logits?: Nested; python_flex_max_abs_diff: number; python_flex_head_config: Record<string, unknown> }>;
};

describe('static HF task checkpoints become flex head "default" with the same outputs', () => {
  for (const arch of Object.keys(staticExpected.models)) {
    it(arch, async () => {
      const e = staticExpected.models[arch]!;
      const m = await AutoAdapterModel.fromPretrained(join(FIX, 'static', arch), { onWarning: () => {} });
      try {
        expect(m.activeHead).toBe('default');
        // The same flex config as Python's conversion.
        expect(m.getHead('default').config).toEqual(e.python_flex_head_config);
        const out = m.forward({ inputIds: t(staticExpected.input_ids), attentionMask: t(staticExpected.attention_mask) });
        // Logits at padding positions are meaningless (HF Llama gives them other position ids): compare real tokens only.
        const mask = staticExpected.attention_mask.flat();
        const d = e.start_logits
          ? Math.max(await maxDiff(out.startLogits!, e.start_logits), await maxDiff(out.endLogits!, e.end_logits!))
          : out.logits.rank === 3
            ? await maxDiffWhere(out.logits, e.logits!, mask)
            : await maxDiff(out.logits, e.logits!);
        diffs[`static ${arch}`] = d;
        expect(d).toBeLessThanOrEqual(TOL);
        if (arch === 'BertForMaskedLM') {
          // Python's conversion misses cls.predictions.bias and leaves the decoder bias at zero; ours maps it.
          expect(e.python_flex_max_abs_diff).toBeGreaterThan(1e-3);
          expect(m.loadReport.newlyInitialized).toEqual(['bert.pooler.dense.weight', 'bert.pooler.dense.bias']);
        }
      } finally {
        m.dispose();
      }
    });
  }
});
