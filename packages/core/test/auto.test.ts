import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cast, manualSeed, randn, saveSafetensors, setBackend, tensor, type Tensor } from '../src/index.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';
import { AutoAdapterModel } from '../src/models/auto.js';
import { planWeightMapping } from '../src/models/config-loader.js';
import { registerModelType } from '../src/models/registry.js';
import { HfTokenizer } from '../src/tokenizers/hf-tokenizer.js';
import { FakeBase, fakeConfig } from './heads-fake-base.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'auto-test-'));
const V = 20;
const H = 8;
const silent = { onWarning: () => {} };

beforeAll(() => {
  setBackend(TEST_BACKEND);
  manualSeed(3);
  registerModelType({
    modelTypes: ['fake-bert'],
    basePrefix: 'bert',
    parseConfig: (raw) => {
      if (typeof raw.hidden_size !== 'number') throw new Error("fake-bert config.json: field 'hidden_size' is missing");
      return fakeConfig({ vocabSize: raw.vocab_size as number, hiddenSize: raw.hidden_size }, raw);
    },
    createBase: (c) => new FakeBase(c),
  });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Base weights under HF names, optionally prefixed, in f16 like many Hub checkpoints. */
function baseWeights(prefix = ''): Map<string, Tensor> {
  const w = new Map<string, Tensor>();
  const add = (name: string, shape: number[]): void => {
    w.set(`${prefix}${name}`, cast(randn(shape), 'f16'));
  };
  add('embeddings.weight', [V, H]);
  add('dense.weight', [H, H]);
  add('dense.bias', [H]);
  add('pooler.weight', [H, H]);
  add('pooler.bias', [H]);
  return w;
}

async function makeDir(name: string, config: Record<string, unknown>, weights: Map<string, Tensor>): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'fake-bert', vocab_size: V, hidden_size: H, ...config }));
  await saveSafetensors(join(dir, 'model.safetensors'), weights);
  return dir;
}

async function same(a: Tensor, b: Tensor): Promise<void> {
  expect(Array.from(await a.data())).toEqual(Array.from(await cast(b, a.dtype).data()));
}

describe('AutoAdapterModel.fromPretrained', () => {
  it('loads base weights without a prefix (f16 → f32), loads tokenizer.json, and is in eval mode', async () => {
    const w = baseWeights();
    const dir = await makeDir('plain', { architectures: ['BertModel'] }, w);
    copyFileSync(join(HERE, 'fixtures', 'tokenizer', 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const m = await AutoAdapterModel.fromPretrained(dir, silent);
    expect(m.modelType).toBe('fake-bert');
    expect(m.training).toBe(false);
    expect(m.heads.size).toBe(0);
    expect(m.getParameter('bert.dense.weight').dtype).toBe('f32');
    await same(m.getParameter('bert.dense.weight'), w.get('dense.weight')!);
    expect(m.tokenizer).toBeInstanceOf(HfTokenizer);
    expect(m.loadReport).toMatchObject({ loaded: 5, ignored: [], newlyInitialized: [], headsCreated: [] });
    m.dispose();
  });

  it('accepts prefixed keys, renames gamma/beta and turns a static classifier into head "default"', async () => {
    const w = baseWeights('bert.');
    w.set('bert.LayerNorm.gamma', randn([H]));
    w.set('classifier.weight', randn([3, H]));
    w.set('classifier.bias', randn([3]));
    w.set('bert.embeddings.position_ids', tensor([0, 1, 2, 3], [1, 4], { dtype: 'i32' }));
    const cfg = { architectures: ['BertForSequenceClassification'], id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 } };
    // The fake base has no LayerNorm: the renamed key must be reported as unexpected under its original name.
    const bad = await makeDir('prefixed-bad', cfg, w);
    await expect(AutoAdapterModel.fromPretrained(bad, silent)).rejects.toThrow(/1 checkpoint weight\(s\) match no parameter of the fake-bert model: bert.LayerNorm.gamma/);
    w.delete('bert.LayerNorm.gamma');
    const dir = await makeDir('prefixed', cfg, w);
    const m = await AutoAdapterModel.fromPretrained(dir, silent);
    expect(m.activeHead).toBe('default');
    expect(m.getHead('default').config).toEqual({ head_type: 'classification', num_labels: 3, layers: 1, activation_function: null, label2id: { neg: 0, neu: 1, pos: 2 }, use_pooler: true, bias: true, dropout_prob: null });
    await same(m.getParameter('heads.default.1.weight'), w.get('classifier.weight')!);
    await same(m.getParameter('bert.pooler.weight'), w.get('bert.pooler.weight')!);
    expect(m.getLabels()).toEqual(['neg', 'neu', 'pos']);
    expect(m.loadReport.ignored).toEqual([{ key: 'bert.embeddings.position_ids', reason: 'a buffer HF recomputes (not a parameter)' }]);
    const out = m.forward({ inputIds: tensor([1, 2, 3, 4], [1, 4], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([1, 3]);
    m.dispose();
  });

  it('renames legacy gamma/beta LayerNorm names', () => {
    const plan = planWeightMapping(['bert.LayerNorm.gamma', 'bert.LayerNorm.beta'], { basePrefix: 'bert', baseKeys: new Set(['LayerNorm.weight', 'LayerNorm.bias']), headKeys: new Set() });
    expect([...plan.base]).toEqual([
      ['bert.LayerNorm.gamma', 'LayerNorm.weight'],
      ['bert.LayerNorm.beta', 'LayerNorm.bias'],
    ]);
    expect(plan.missing).toEqual([]);
  });

  it('rebuilds heads saved by the Python AdapterModel (config.json prediction_heads + heads.* weights)', async () => {
    const w = baseWeights('bert.');
    w.set('heads.ner.1.weight', randn([4, H]));
    w.set('heads.ner.1.bias', randn([4]));
    const heads = { ner: { head_type: 'tagging', num_labels: 4, layers: 1, activation_function: 'tanh', label2id: { O: 0, PER: 1, LOC: 2, ORG: 3 }, dropout_prob: null } };
    const dir = await makeDir('python-flex', { architectures: ['BertAdapterModel'], prediction_heads: heads }, w);
    const m = await AutoAdapterModel.fromPretrained(dir, silent);
    expect(m.heads.names()).toEqual(['ner']);
    expect(m.activeHead).toBe('ner');
    await same(m.getParameter('heads.ner.1.bias'), w.get('heads.ner.1.bias')!);
    expect(m.loadReport.headsCreated).toEqual(['ner']);
    m.dispose();
  });

  it('ignores (and reports) task-head weights the model has no flex head for, and a missing pooler', async () => {
    const w = baseWeights();
    w.delete('pooler.weight');
    w.delete('pooler.bias');
    w.set('cls.seq_relationship.weight', randn([2, H]));
    const dir = await makeDir('pretraining', { architectures: ['BertForPreTraining'] }, w);
    const warnings: string[] = [];
    const m = await AutoAdapterModel.fromPretrained(dir, { onWarning: (s) => warnings.push(s) });
    expect(m.loadReport.ignored.map((i) => i.key)).toEqual(['cls.seq_relationship.weight']);
    expect(m.loadReport.newlyInitialized).toEqual(['bert.pooler.weight', 'bert.pooler.bias']);
    expect(warnings.join('\n')).toMatch(/ignored 1 checkpoint weight\(s\): cls.seq_relationship.weight .*BertForPreTraining/);
    expect(warnings.join('\n')).toMatch(/bert.pooler.weight, bert.pooler.bias/);
    m.dispose();
  });

  it('lists missing weights precisely', async () => {
    const w = baseWeights();
    w.delete('dense.bias');
    w.delete('embeddings.weight');
    const dir = await makeDir('missing', {}, w);
    await expect(AutoAdapterModel.fromPretrained(dir, silent)).rejects.toThrow(/lacks 2 weight\(s\) the model needs: bert.embeddings.weight, bert.dense.bias/);
    // A converted head whose weights are absent is missing too.
    const w2 = baseWeights();
    const dir2 = await makeDir('missing-head', { architectures: ['BertForTokenClassification'] }, w2);
    await expect(AutoAdapterModel.fromPretrained(dir2, silent)).rejects.toThrow(/heads.default.1.weight, heads.default.1.bias/);
  });

  it('reports shape mismatches with the key', async () => {
    const w = baseWeights();
    w.set('dense.weight', randn([H, H + 1]));
    const dir = await makeDir('shape', {}, w);
    await expect(AutoAdapterModel.fromPretrained(dir, silent)).rejects.toThrow(/size mismatch for 'dense.weight'/);
  });

  it('names the path or model type in errors', async () => {
    await expect(AutoAdapterModel.fromPretrained(join(tmp, 'does-not-exist'))).rejects.toThrow(/no such file or directory: .*does-not-exist/);
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await expect(AutoAdapterModel.fromPretrained(empty)).rejects.toThrow(/no config.json in .*empty/);
    const other = join(tmp, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'config.json'), JSON.stringify({ model_type: 'gpt-neo' }));
    await expect(AutoAdapterModel.fromPretrained(other)).rejects.toThrow(/unsupported model_type 'gpt-neo'; supported: .*fake-bert/);
    const noWeights = join(tmp, 'no-weights');
    mkdirSync(noWeights);
    writeFileSync(join(noWeights, 'config.json'), JSON.stringify({ model_type: 'fake-bert', vocab_size: V, hidden_size: H }));
    await expect(AutoAdapterModel.fromPretrained(noWeights)).rejects.toThrow(/no weights in .*no-weights/);
    writeFileSync(join(tmp, 'model.bin'), 'x');
    await expect(AutoAdapterModel.fromPretrained(join(tmp, 'model.bin'))).rejects.toThrow(/model.bin is a file but not a .gguf/);
  });

  it('converts to f16 on request', async () => {
    const dir = await makeDir('f16', {}, baseWeights());
    const m = await AutoAdapterModel.fromPretrained(dir, { ...silent, dtype: 'f16' });
    expect(m.parameters().every((p) => p.dtype === 'f16')).toBe(true);
    m.dispose();
  });
});

// The real 22M-parameter checkpoint takes ~15 s on the reference CPU backend: run it with ADAPTERKIT_REAL_MODELS=1.
const MINILM = join(HERE, '..', '..', '..', 'models', 'all-MiniLM-L6-v2');
const runReal = process.env.ADAPTERKIT_REAL_MODELS === '1' && existsSync(join(MINILM, 'model.safetensors'));
describe.skipIf(!runReal)('all-MiniLM-L6-v2 (real BERT checkpoint; ADAPTERKIT_REAL_MODELS=1)', () => {
  it('loads with its tokenizer and runs a classification head', async () => {
    await import('../src/models/bert/index.js');
    const m = await AutoAdapterModel.fromPretrained(MINILM, silent);
    expect(m.basePrefix).toBe('bert');
    expect(m.tokenizer).toBeInstanceOf(HfTokenizer);
    const tok = m.tokenizer as HfTokenizer;
    m.addClassificationHead('sst2', { numLabels: 2 });
    const batch = tok.encodeBatch(['a stirring , funny and finally transporting film', 'dull'], { maxLength: 16 });
    const out = m.forward({ ...batch, labels: tensor([1, 0], [2], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([2, 2]);
    expect(Number.isFinite((await out.loss!.data())[0]!)).toBe(true);
    m.dispose();
  });
});

const STORIES = join(HERE, '..', '..', '..', '..', 'shared', 'data', 'models', 'stories260K', 'stories260K.gguf');
describe.skipIf(!existsSync(STORIES))('AutoAdapterModel.fromPretrained on a .gguf (stories260K)', () => {
  it('builds a Llama AdapterModel with a tied causal-LM head "default" that reproduces the reference logits and greedy text', async () => {
    const { generate } = await import('../src/generation/index.js');
    const { LlamaSpmTokenizer } = await import('../src/tokenizers/llama-spm.js');
    const fixture = JSON.parse(readFileSync(join(HERE, 'fixtures', 'llama', 'stories260k.json'), 'utf8')) as {
      prompt: string;
      prompt_ids: number[];
      prompt_logits: number[][];
      max_new_tokens: number;
      new_tokens: number[];
    };
    const m = await AutoAdapterModel.fromPretrained(STORIES);
    expect(m.basePrefix).toBe('model');
    expect(m.activeHead).toBe('default');
    expect(m.getHead('default').config).toMatchObject({ head_type: 'causal_lm', layers: 1, activation_function: null, layer_norm: false, bias: false, shift_labels: true });
    expect([...m.heads.stateDict().keys()]).toEqual(['default.0.weight']);
    expect(m.getParameter('heads.default.0.weight')).toBe(m.base.inputEmbeddings());
    expect(m.tokenizer).toBeInstanceOf(LlamaSpmTokenizer);
    expect((m.tokenizer as InstanceType<typeof LlamaSpmTokenizer>).encode(fixture.prompt)).toEqual(fixture.prompt_ids);
    const ids = fixture.prompt_ids;
    const out = m.forward({ inputIds: tensor(Int32Array.from(ids), [1, ids.length]) });
    const got = Array.from(await out.logits.data());
    const want = fixture.prompt_logits.flat();
    const d = got.reduce((mx, v, i) => Math.max(mx, Math.abs(v - want[i]!)), 0);
    expect(d).toBeLessThanOrEqual(1e-4);
    out.logits.dispose();
    out.lastHiddenState.dispose();
    // AdapterModel is a CausalLM for generate() (with the base model's KV cache).
    const gen = await generate(m, ids, { maxNewTokens: fixture.max_new_tokens, eosTokenId: 2 });
    expect(gen.newTokens[0]).toEqual(fixture.new_tokens);
    m.dispose();
  });
});
