/**
 * Parity of the BERT family with Hugging Face transformers. Fixtures come from
 * tools/reference/make_bert_fixtures.py (tiny random BERT / RoBERTa /
 * XLM-RoBERTa, float64 references of the f32 weights; and all-MiniLM-L6-v2
 * with its F16 weights, f32 reference on the same weights).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add, backward, dispose, liveTensors, manualSeed, mul, noGrad, setBackend, sum, tensor, tidy, type Tensor } from '../src/index.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';
import { loadSafetensors } from '../src/io/index.js';
import { BertModel, parseBertConfig, positionIdsFromPadding } from '../src/models/bert/index.js';
import { modelTypeEntry } from '../src/models/registry.js';
import type { BaseModelOutput } from '../src/models/types.js';

const FIXTURES = new URL('./fixtures/bert/', import.meta.url);
const MINILM_DIR = new URL('../../../models/all-MiniLM-L6-v2/', import.meta.url);
/** Forward and gradient tolerance (max |Δ|) against the HF reference. */
const TOL = 1e-4;

interface FixtureInputs {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  sentences?: string[];
}

beforeAll(() => {
  setBackend(TEST_BACKEND);
});

function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

/** max |a − b| over all elements, after checking the shapes agree. */
async function maxAbsDiff(actual: Tensor, expected: Tensor, what: string): Promise<number> {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  const a = await actual.data();
  const b = await expected.data();
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

async function loadModel(dir: URL): Promise<BertModel> {
  const raw = JSON.parse(await readFile(new URL('config.json', dir), 'utf8')) as Record<string, unknown>;
  const model = new BertModel(parseBertConfig(raw), { initWeights: false });
  const weights = await loadSafetensors(new URL('model.safetensors', dir));
  model.loadStateDict(weights, { strict: true });
  for (const t of weights.values()) t.dispose();
  return model.eval();
}

async function readInputs(dir: URL): Promise<FixtureInputs> {
  return JSON.parse(await readFile(new URL('inputs.json', dir), 'utf8')) as FixtureInputs;
}

/** Measured max |Δ| per fixture tensor, printed once at the end for the record. */
const measured: Record<string, number> = {};
afterAll(() => {
  console.log('BERT parity, max |Δ| per fixture tensor:\n' + Object.entries(measured).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`).join('\n'));
});

async function check(name: string, actual: Tensor, expected: Tensor | undefined, tol = TOL): Promise<void> {
  expect(expected, `fixture tensor ${name}`).toBeDefined();
  const d = await maxAbsDiff(actual, expected!, name);
  measured[name] = d;
  expect(d, `${name}: max |Δ| ${d}`).toBeLessThanOrEqual(tol);
}

describe.each(['bert', 'roberta', 'xlm-roberta'])('tiny %s vs HF transformers', (kind) => {
  const dir = new URL(`${kind}/`, FIXTURES);
  let model: BertModel;
  let inputs: FixtureInputs;
  let expected: Map<string, Tensor>;

  beforeAll(async () => {
    model = await loadModel(dir);
    inputs = await readInputs(dir);
    expected = await loadSafetensors(new URL('expected.safetensors', dir));
  });
  afterAll(() => {
    model.dispose();
    for (const t of expected.values()) t.dispose();
  });

  function modelInputs() {
    return {
      inputIds: ids(inputs.input_ids),
      attentionMask: ids(inputs.attention_mask),
      ...(inputs.token_type_ids ? { tokenTypeIds: ids(inputs.token_type_ids) } : {}),
    };
  }

  /** The fixture's loss: sum(h·R1) + sum(pooled·R2). */
  function fixtureLoss(out: BaseModelOutput): Tensor {
    return add(
      sum(mul(out.lastHiddenState, expected.get('loss_weight.last_hidden_state')!)),
      sum(mul(out.pooledOutput!, expected.get('loss_weight.pooler_output')!)),
    );
  }

  it('matches last_hidden_state, every hidden state and pooler_output', async () => {
    const out = noGrad(() => tidy(() => model.forward({ ...modelInputs(), outputHiddenStates: true })));
    try {
      await check(`${kind}/last_hidden_state`, out.lastHiddenState, expected.get('last_hidden_state'));
      expect(out.hiddenStates).toHaveLength(model.config.numHiddenLayers + 1);
      for (const [i, h] of out.hiddenStates!.entries()) await check(`${kind}/hidden_states.${i}`, h, expected.get(`hidden_states.${i}`));
      await check(`${kind}/pooler_output`, out.pooledOutput!, expected.get('pooler_output'));
    } finally {
      dispose(out);
    }
  });

  it('matches the gradients of sum(h·R1) + sum(pooled·R2) for every parameter', async () => {
    const params = model.namedParameters();
    tidy(() => backward(fixtureLoss(model.forward(modelInputs()))));
    let worst = 0;
    for (const [name, p] of params) {
      expect(p.grad, `gradient of ${name}`).not.toBeNull();
      const g = expected.get(`grad.${name}`);
      expect(g, `fixture gradient grad.${name}`).toBeDefined();
      const d = await maxAbsDiff(p.grad!, g!, `grad.${name}`);
      worst = Math.max(worst, d);
      expect(d, `grad.${name}: max |Δ| ${d}`).toBeLessThanOrEqual(TOL);
    }
    measured[`${kind}/grad (worst of ${params.length} parameters)`] = worst;
    model.zeroGrad();
  });

  it('returns memory to its starting level after forward + backward', () => {
    const before = liveTensors();
    tidy(() => backward(fixtureLoss(model.forward({ ...modelInputs(), outputHiddenStates: true }))));
    model.zeroGrad();
    expect(liveTensors()).toBe(before);
  });

  it('applies dropout only in training mode', async () => {
    const forward = () => noGrad(() => tidy(() => model.forward(modelInputs()).lastHiddenState));
    const evalOut = forward();
    const again = forward();
    model.train();
    let a: Tensor, b: Tensor;
    try {
      manualSeed(7);
      a = forward();
      manualSeed(7);
      b = forward();
    } finally {
      model.eval();
    }
    try {
      expect(await maxAbsDiff(again, evalOut, 'eval twice')).toBe(0);
      expect(await maxAbsDiff(a, b, 'same seed')).toBe(0);
      expect(await maxAbsDiff(a, evalOut, 'train vs eval')).toBeGreaterThan(1e-3);
    } finally {
      dispose([evalOut, again, a, b]);
    }
  });
});

describe('RoBERTa position ids', () => {
  it('count real tokens from pad + 1 and give padding the pad id (HF create_position_ids_from_input_ids)', async () => {
    const pos = tidy(() => positionIdsFromPadding(ids([[0, 5, 6, 1, 1], [1, 1, 7, 8, 9], [1, 4, 1, 4, 1]]), 1));
    expect(pos.dtype).toBe('i32');
    expect(Array.from(await pos.data())).toEqual([2, 3, 4, 1, 1, 1, 1, 2, 3, 4, 1, 2, 1, 3, 1]);
    pos.dispose();
  });
});

describe('all-MiniLM-L6-v2 (F16 weights) vs HF transformers', () => {
  it('matches last_hidden_state and the mean-pooled, L2-normalised sentence embeddings', async () => {
    const model = await loadModel(MINILM_DIR);
    const fx = new URL('minilm/', FIXTURES);
    const inputs = await readInputs(fx);
    const expected = await loadSafetensors(new URL('expected.safetensors', fx));
    expect(inputs.sentences).toHaveLength(12);
    const out = noGrad(() => tidy(() => model.forward({ inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids!) })));
    const embedding = await meanPoolNormalize(out.lastHiddenState, inputs.attention_mask);
    await check('minilm/last_hidden_state', out.lastHiddenState, expected.get('last_hidden_state'));
    await check('minilm/pooler_output', out.pooledOutput!, expected.get('pooler_output'));
    await check('minilm/sentence_embedding', embedding, expected.get('sentence_embedding'));
    dispose([out, embedding]);
    model.dispose();
    for (const t of expected.values()) t.dispose();
  });
});

/** sentence-transformers' Pooling(mean) + Normalize, on the host (the test's own oracle, not library code). */
async function meanPoolNormalize(hidden: Tensor, mask: number[][]): Promise<Tensor> {
  const [b, l, h] = hidden.shape as [number, number, number];
  const x = await hidden.data();
  const out = new Float32Array(b * h);
  for (let i = 0; i < b; i++) {
    const acc = new Float64Array(h);
    let n = 0;
    for (let t = 0; t < l; t++) {
      if (!mask[i]![t]) continue;
      n++;
      for (let k = 0; k < h; k++) acc[k]! += x[(i * l + t) * h + k]!;
    }
    let norm = 0;
    for (let k = 0; k < h; k++) {
      acc[k]! /= Math.max(n, 1e-9);
      norm += acc[k]! * acc[k]!;
    }
    norm = Math.max(Math.sqrt(norm), 1e-12);
    for (let k = 0; k < h; k++) out[i * h + k] = acc[k]! / norm;
  }
  return tensor(out, [b, h]);
}

describe('BERT family config and registry', () => {
  const base = { model_type: 'bert', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };

  it('fills HF defaults and names missing or invalid fields', () => {
    const c = parseBertConfig(base);
    expect(c).toMatchObject({ hiddenAct: 'gelu', layerNormEps: 1e-12, padTokenId: 0, typeVocabSize: 2, maxPositionEmbeddings: 512, positionIdsFromPadding: false });
    expect(parseBertConfig({ ...base, model_type: 'xlm-roberta' })).toMatchObject({ padTokenId: 1, positionIdsFromPadding: true });
    const { hidden_size: _h, ...noHidden } = base;
    expect(() => parseBertConfig(noHidden)).toThrow(/'hidden_size' is missing/);
    expect(() => parseBertConfig({ ...base, num_attention_heads: 3 })).toThrow(/'num_attention_heads'.*must divide hidden_size/);
    expect(() => parseBertConfig({ ...base, hidden_act: 'tanh' })).toThrow(/'hidden_act' must be one of/);
    expect(() => parseBertConfig({ ...base, position_embedding_type: 'relative_key' })).toThrow(/'position_embedding_type' must be 'absolute'/);
    expect(() => parseBertConfig({ ...base, hidden_dropout_prob: 1.5 })).toThrow(/'hidden_dropout_prob'/);
    expect(() => parseBertConfig({ ...base, model_type: 'gpt2' })).toThrow(/'model_type' must be one of bert, roberta, xlm-roberta/);
    expect(() => parseBertConfig({ ...base, is_decoder: true })).toThrow(/'is_decoder'/);
  });

  it('registers bert under prefix bert and roberta / xlm-roberta under prefix roberta', () => {
    expect(modelTypeEntry('bert').basePrefix).toBe('bert');
    expect(modelTypeEntry('roberta').basePrefix).toBe('roberta');
    expect(modelTypeEntry('xlm-roberta').basePrefix).toBe('roberta');
    const model = modelTypeEntry('roberta').createBase(modelTypeEntry('roberta').parseConfig({ ...base, model_type: 'roberta', max_position_embeddings: 20, type_vocab_size: 1 }));
    expect(model.namedParameters().map(([n]) => n).slice(0, 8)).toEqual([
      'embeddings.word_embeddings.weight',
      'embeddings.position_embeddings.weight',
      'embeddings.token_type_embeddings.weight',
      'embeddings.LayerNorm.weight',
      'embeddings.LayerNorm.bias',
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.0.attention.self.query.bias',
      'encoder.layer.0.attention.self.key.weight',
    ]);
    expect(model.stateDict().has('pooler.dense.weight')).toBe(true);
    model.dispose();
  });

  it('loads checkpoints that still carry the embeddings.position_ids buffer, as HF does', () => {
    const model = new BertModel(parseBertConfig(base));
    const dict = new Map(model.stateDict());
    const positionIds = tensor(Int32Array.from({ length: 512 }, (_, i) => i), [1, 512]);
    dict.set('embeddings.position_ids', positionIds);
    expect(model.loadStateDict(dict, { strict: true }).unexpectedKeys).toEqual([]);
    positionIds.dispose();
    model.dispose();
  });

  it('omits the pooler with addPoolingLayer: false and rejects over-long sequences', () => {
    const model = new BertModel(parseBertConfig({ ...base, max_position_embeddings: 4 }), { addPoolingLayer: false }).eval();
    expect([...model.stateDict().keys()].some((k) => k.startsWith('pooler.'))).toBe(false);
    noGrad(() => tidy(() => {
      expect(model.forward({ inputIds: ids([[1, 2, 3, 4]]) }).pooledOutput).toBeUndefined();
      expect(() => model.forward({ inputIds: ids([[1, 2, 3, 4, 5]]) })).toThrow(/sequence length 5 exceeds the 4 positions/);
    }));
    model.dispose();
  });
});
