import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, dispose, liveTensors, manualSeed, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';
import { AdapterModel } from '../src/models/adapter-model.js';
import { bceWithLogits, ClassificationHead, pythonJson, type HeadOutput } from '../src/heads/index.js';
import { FakeBase, fakeConfig } from './heads-fake-base.js';

const tmp = mkdtempSync(join(tmpdir(), 'heads-test-'));
beforeAll(() => {
  setBackend(TEST_BACKEND);
  manualSeed(7);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const B = 3;
const S = 5;
const V = 20;
const H = 8;

function model(opts: { modelType?: string; pooler?: boolean; raw?: Record<string, unknown> } = {}): AdapterModel {
  const base = new FakeBase(fakeConfig({ modelType: opts.modelType ?? 'fake-bert', vocabSize: V, hiddenSize: H }, opts.raw), { pooler: opts.pooler });
  return new AdapterModel(base, { basePrefix: 'bert', nameOrPath: 'fake/model' }).eval();
}

function ids(b = B, s = S): Tensor {
  return tensor(Array.from({ length: b * s }, (_, i) => (i * 7 + 3) % V), [b, s], { dtype: 'i32' });
}

async function vals(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

async function item(t: Tensor): Promise<number> {
  return (await t.data())[0]!;
}

/** log-softmax cross-entropy on the host, skipping `ignore`. */
function hostCE(logits: number[], c: number, targets: number[], ignore = -100): number {
  let total = 0;
  let n = 0;
  targets.forEach((t, i) => {
    if (t === ignore) return;
    const row = logits.slice(i * c, (i + 1) * c);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    total += lse - row[t]!;
    n++;
  });
  return total / n;
}

function disposeOut(o: HeadOutput): void {
  o.logits.dispose();
  o.loss?.dispose();
  o.startLogits?.dispose();
  o.endLogits?.dispose();
}

describe('classification heads', () => {
  it('uses Python layer indices and the head_config.json format', () => {
    const m = model();
    m.addClassificationHead('mrpc', { numLabels: 3 });
    const names = [...m.stateDict().keys()].filter((k) => k.startsWith('heads.'));
    expect(names).toEqual(['heads.mrpc.1.weight', 'heads.mrpc.1.bias', 'heads.mrpc.4.weight', 'heads.mrpc.4.bias']);
    expect(m.getParameter('heads.mrpc.4.weight').shape).toEqual([3, H]);
    const file = m.headConfigFile('mrpc');
    expect(file).toEqual({
      config: { head_type: 'classification', num_labels: 3, layers: 2, activation_function: 'tanh', label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 }, use_pooler: false, bias: true, dropout_prob: null },
      hidden_size: H,
      model_class: 'FakeBertAdapterModel',
      model_name: 'fake/model',
      model_type: 'fake-bert',
      name: 'mrpc',
      version: 'adapterkit.0.1.0',
    });
    // Python: json.dump(indent=2, sort_keys=True).
    expect(pythonJson({ b: 1, a: { d: null, c: ['é'] } })).toBe('{\n  "a": {\n    "c": [\n      "\\u00e9"\n    ],\n    "d": null\n  },\n  "b": 1\n}');
    // Dropout as Python: dropout_prob, else classifier_dropout, else hidden_dropout_prob.
    expect((m.getHead('mrpc').layer(0) as unknown as { p: number }).p).toBe(0.1);
    m.dispose();
  });

  it('leaves out the activation index when activation_function is null', () => {
    const m = model();
    m.addClassificationHead('c', { activationFunction: null, dropoutProb: 0.2, idToLabel: ['neg', 'pos'] });
    expect([...m.heads.stateDict().keys()]).toEqual(['c.1.weight', 'c.1.bias', 'c.3.weight', 'c.3.bias']);
    expect(m.getLabels()).toEqual(['neg', 'pos']);
    expect(m.getHead('c').config).toMatchObject({ dropout_prob: 0.2, label2id: { neg: 0, pos: 1 } });
    m.dispose();
  });

  it('cross-entropy loss matches a host computation and gradients reach the head', async () => {
    const m = model();
    m.addClassificationHead('c', { numLabels: 4 });
    m.train();
    m.getHead('c').layer(0).eval(); // deterministic logits for the check
    m.getHead('c').layer(3).eval();
    m.base.eval();
    const before = liveTensors();
    const out = tidy(() => {
      const o = m.forward({ inputIds: ids(), labels: tensor([0, 3, 2], [3], { dtype: 'i32' }) });
      backward(o.loss!);
      return o;
    });
    expect(out.logits.shape).toEqual([B, 4]);
    expect(await item(out.loss!)).toBeCloseTo(hostCE(await vals(out.logits), 4, [0, 3, 2]), 5);
    dispose(out);
    expect(m.getParameter('heads.c.4.weight').grad).not.toBeNull();
    expect(m.getParameter('bert.dense.weight').grad).not.toBeNull();
    m.zeroGrad();
    expect(liveTensors()).toBe(before);
    m.dispose();
  });

  it('regression (numLabels 1) uses MSE', async () => {
    const m = model();
    m.addClassificationHead('r', { numLabels: 1 });
    const y = [0.5, -1, 2];
    const out = m.forward({ inputIds: ids(), labels: tensor(y, [3]) });
    expect(out.logits.shape).toEqual([B, 1]);
    const l = await vals(out.logits);
    const mse = l.reduce((a, v, i) => a + (v - y[i]!) ** 2, 0) / 3;
    expect(await item(out.loss!)).toBeCloseTo(mse, 5);
    disposeOut(out);
    m.dispose();
  });

  it('multi-label uses BCE with logits, equal to the direct formula, with gradient σ(x) − y', async () => {
    const m = model();
    m.addClassificationHead('ml', { numLabels: 3, multilabel: true });
    expect(m.getHead('ml').config.head_type).toBe('multilabel_classification');
    const y = [1, 0, 1, 0, 0, 1, 1, 1, 0];
    const out = m.forward({ inputIds: ids(), labels: tensor(y, [3, 3], { dtype: 'i32' }) });
    const x = await vals(out.logits);
    const direct = x.reduce((a, xi, i) => a - (y[i]! * Math.log(1 / (1 + Math.exp(-xi))) + (1 - y[i]!) * Math.log(1 - 1 / (1 + Math.exp(-xi)))), 0) / 9;
    expect(await item(out.loss!)).toBeCloseTo(direct, 5);
    disposeOut(out);
    // The loss on its own, at extreme and zero logits.
    const logits = tensor([0, 30, -30, 0.5], [4], { requiresGrad: true });
    const t = tensor([1, 0, 1, 0], [4]);
    const loss = bceWithLogits(logits, t);
    const sp = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    expect(await item(loss)).toBeCloseTo((sp(0) - 0 + sp(30) + sp(-30) + 30 + sp(0.5)) / 4, 4);
    backward(loss);
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const g = await vals(logits.grad!);
    [sig(0) - 1, sig(30), sig(-30) - 1, sig(0.5)].forEach((e, i) => expect(g[i]).toBeCloseTo(e / 4, 6));
    m.dispose();
  });

  it('can classify from the pooled output', () => {
    const m = model();
    m.addClassificationHead('p', { usePooler: true });
    const out = m.forward({ inputIds: ids() });
    expect(out.pooledOutput!.shape).toEqual([B, H]);
    expect(out.logits.shape).toEqual([B, 2]);
    const noPool = model({ pooler: false });
    noPool.addClassificationHead('p', { usePooler: true });
    expect(() => noPool.forward({ inputIds: ids() })).toThrow(/use_pooler/);
    m.dispose();
    noPool.dispose();
  });
});

describe('token-level, multiple-choice and QA heads', () => {
  it('tagging ignores -100 labels and masked-out tokens', async () => {
    const m = model();
    m.addTaggingHead('ner', { numLabels: 5 });
    expect([...m.heads.stateDict().keys()]).toEqual(['ner.1.weight', 'ner.1.bias']);
    const labels = [0, 1, 2, -100, 4, 3, 3, 3, 3, 3, 1, -100, 0, 0, 2];
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1];
    const out = m.forward({ inputIds: ids(), attentionMask: tensor(mask, [3, 5], { dtype: 'i32' }), labels: tensor(labels, [3, 5], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([B, S, 5]);
    const effective = labels.map((l, i) => (mask[i] === 1 ? l : -100));
    expect(await item(out.loss!)).toBeCloseTo(hostCE(await vals(out.logits), 5, effective), 5);
    disposeOut(out);
    m.dispose();
  });

  it('multiple choice flattens [batch, choices, seq] and scores each choice', async () => {
    const m = model();
    m.addMultipleChoiceHead('mc', { numChoices: 3 });
    expect([...m.heads.stateDict().keys()]).toEqual(['mc.1.weight', 'mc.1.bias', 'mc.4.weight', 'mc.4.bias']);
    expect(m.getParameter('heads.mc.4.weight').shape).toEqual([1, H]);
    const x = tensor(Array.from({ length: 2 * 3 * 4 }, (_, i) => i % V), [2, 3, 4], { dtype: 'i32' });
    const out = m.forward({ inputIds: x, labels: tensor([2, 0], [2], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([2, 3]);
    expect(await item(out.loss!)).toBeCloseTo(hostCE(await vals(out.logits), 3, [2, 0]), 5);
    disposeOut(out);
    m.dispose();
  });

  it('QA returns start/end logits; the loss averages both and ignores positions past the input', async () => {
    const m = model();
    m.addQAHead('qa');
    expect(m.getHead('qa').labelNames()).toEqual(['start_positions', 'end_positions']);
    const out = m.forward({ inputIds: ids(), startPositions: tensor([1, 4, 99], [3], { dtype: 'i32' }), endPositions: tensor([2, 4, 3], [3], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([B, S, 2]);
    expect(out.startLogits!.shape).toEqual([B, S]);
    const start = await vals(out.startLogits!);
    const end = await vals(out.endLogits!);
    // 99 is clamped to seq (5) and ignored, as in Python.
    const expected = (hostCE(start, S, [1, 4, S], S) + hostCE(end, S, [2, 4, 3], S)) / 2;
    expect(await item(out.loss!)).toBeCloseTo(expected, 5);
    disposeOut(out);
    m.dispose();
  });
});

describe('language-model heads', () => {
  it('masked LM: Linear, gelu, LayerNorm, decoder tied to the input embeddings', async () => {
    const m = model({ raw: { layer_norm_eps: 1e-12 } });
    const nParams = m.numParameters();
    m.addMaskedLMHead('mlm');
    const keys = [...m.heads.stateDict().keys()];
    expect(keys).toEqual(['mlm.0.weight', 'mlm.0.bias', 'mlm.2.weight', 'mlm.2.bias', 'mlm.3.weight', 'mlm.3.bias']);
    expect(m.getParameter('heads.mlm.3.weight')).toBe(m.base.inputEmbeddings());
    // The tied matrix is counted once: transform H·H+H, LayerNorm 2H, decoder bias V.
    expect(m.numParameters() - nParams).toBe(H * H + H + 2 * H + V);
    expect(m.getHead('mlm').config).toEqual({ head_type: 'masked_lm', vocab_size: V, embedding_size: H, layers: 2, activation_function: 'gelu', layer_norm: true, bias: true, shift_labels: false, label2id: null });
    const labels = Array.from({ length: B * S }, (_, i) => (i % 3 === 0 ? i % V : -100));
    const out = m.forward({ inputIds: ids(), labels: tensor(labels, [B, S], { dtype: 'i32' }) });
    expect(out.logits.shape).toEqual([B, S, V]);
    expect(await item(out.loss!)).toBeCloseTo(hostCE(await vals(out.logits), V, labels), 5);
    disposeOut(out);
    // Deleting the head must not free the shared embeddings.
    m.deleteHead('mlm');
    expect(m.base.inputEmbeddings().isDisposed).toBe(false);
    expect(m.activeHead).toBeUndefined();
    m.dispose();
  });

  it('causal LM shifts labels; a Llama-style head is one untied bias-free Linear', async () => {
    const m = model({ modelType: 'llama' });
    m.addCausalLMHead('lm', { layers: 1, activationFunction: null, layerNorm: false, bias: false });
    expect([...m.heads.stateDict().keys()]).toEqual(['lm.0.weight']);
    expect(m.getParameter('heads.lm.0.weight')).not.toBe(m.base.inputEmbeddings());
    const labels = Array.from({ length: B * S }, (_, i) => (i * 5) % V);
    const out = m.forward({ inputIds: ids(), labels: tensor(labels, [B, S], { dtype: 'i32' }) });
    const l = await vals(out.logits);
    const shiftedLogits: number[] = [];
    const shiftedLabels: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < S - 1; t++) {
        shiftedLogits.push(...l.slice((b * S + t) * V, (b * S + t + 1) * V));
        shiftedLabels.push(labels[b * S + t + 1]!);
      }
    }
    expect(await item(out.loss!)).toBeCloseTo(hostCE(shiftedLogits, V, shiftedLabels), 5);
    disposeOut(out);
    // Llama AdapterModels have no masked-LM or multiple-choice heads (Python head_types).
    expect(() => m.addMaskedLMHead('x')).toThrow(/does not support head type 'masked_lm'/);
    // The default causal head (as add_causal_lm_head) ties only when the config says so.
    m.addCausalLMHead('lm2', { tieWordEmbeddings: true });
    expect([...m.heads.stateDict().keys()].filter((k) => k.startsWith('lm2'))).toEqual(['lm2.0.weight', 'lm2.0.bias', 'lm2.2.weight', 'lm2.2.bias', 'lm2.3.weight', 'lm2.3.bias']);
    expect(m.getParameter('heads.lm2.3.weight')).toBe(m.base.inputEmbeddings());
    m.dispose();
  });

  it('decoder models classify from the last non-padding token', async () => {
    const m = model({ modelType: 'llama', raw: { pad_token_id: 0 } });
    m.addClassificationHead('c', { activationFunction: null, layers: 1 });
    const x = tensor([5, 6, 7, 0, 0, 8, 9, 10, 11, 12], [2, 5], { dtype: 'i32' });
    const out = m.forward({ inputIds: x });
    // Row 0 reads position 2, row 1 position 4: compare with running the head on those hidden states.
    const h = await vals(out.lastHiddenState);
    const head = m.getHead('c') as ClassificationHead;
    const picked = tensor([...h.slice(2 * H, 3 * H), ...h.slice((5 + 4) * H, (5 + 5) * H)], [2, H]);
    const direct = head.forward({ lastHiddenState: out.lastHiddenState }, { clsOutput: picked });
    expect(await vals(out.logits)).toEqual(await vals(direct.logits));
    disposeOut(out);
    disposeOut(direct);
    m.dispose();
  });
});

describe('several heads on one model', () => {
  it('the last added is active; switching, per-call override, overwrite and delete', () => {
    const m = model();
    m.addClassificationHead('a', { numLabels: 2 });
    m.addTaggingHead('b', { numLabels: 7 });
    expect(m.activeHead).toBe('b');
    expect(m.heads.names()).toEqual(['a', 'b']);
    let out = m.forward({ inputIds: ids() });
    expect(out.head).toBe('b');
    expect(out.logits.shape).toEqual([B, S, 7]);
    disposeOut(out);
    m.activeHead = 'a';
    out = m.forward({ inputIds: ids() });
    expect(out.logits.shape).toEqual([B, 2]);
    disposeOut(out);
    out = m.forward({ inputIds: ids(), head: 'b' });
    expect(out.logits.shape).toEqual([B, S, 7]);
    disposeOut(out);
    m.addClassificationHead('c', { setActive: false });
    expect(m.activeHead).toBe('a');
    expect(() => m.addClassificationHead('a')).toThrow(/already has a head named 'a'/);
    m.addClassificationHead('a', { numLabels: 5, overwriteOk: true });
    expect(m.heads.names()).toEqual(['a', 'b', 'c']);
    expect(m.getParameter('heads.a.4.weight').shape).toEqual([5, H]);
    expect(() => (m.activeHead = 'zzz')).toThrow(/no head named 'zzz'; heads: a, b, c/);
    expect(() => m.forward({ inputIds: ids(), head: 'zzz' })).toThrow(/no head named 'zzz'/);
    m.deleteHead('a');
    expect(m.heads.names()).toEqual(['b', 'c']);
    expect(m.activeHead).toBeUndefined();
    expect(() => m.forward({ inputIds: ids() })).toThrow(/no active head/);
    expect([...m.stateDict().keys()].some((k) => k.startsWith('heads.a.'))).toBe(false);
    m.deleteHead('not-there');
    m.dispose();
  });

  it('builds heads from Python configs and rejects unknown ones', () => {
    const m = model();
    m.addHeadFromConfig('x', { head_type: 'tagging', num_labels: 3, id2label: { '0': 'O', '1': 'B', '2': 'I' } });
    expect(m.getHead('x').config).toMatchObject({ num_labels: 3, layers: 1, label2id: { O: 0, B: 1, I: 2 } });
    expect(() => m.addHeadFromConfig('y', { head_type: 'dependency_parsing' })).toThrow(/unknown head_type "dependency_parsing"; supported: classification/);
    expect(() => m.addHeadFromConfig('y', { head_type: 'classification', num_lables: 3 })).toThrow(/'num_lables' is not a known key/);
    expect(() => m.addClassificationHead('y', { activationFunction: 'swishy' })).toThrow(/unknown activation_function 'swishy'/);
    m.dispose();
  });

  it('saves a head in the Python layout and loads it back with equal outputs', async () => {
    const m = model();
    m.addClassificationHead('sst', { numLabels: 2 });
    m.addMaskedLMHead('mlm');
    const dir = join(tmp, 'sst');
    await m.saveHead(dir, 'sst');
    await m.saveHead(join(tmp, 'mlm'), 'mlm');
    const cfg = JSON.parse(readFileSync(join(dir, 'head_config.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(cfg)).toEqual(['config', 'hidden_size', 'model_class', 'model_name', 'model_type', 'name', 'version']);
    const before = m.forward({ inputIds: ids(), head: 'sst' });

    const m2 = model();
    // Same base weights, fresh heads.
    m2.base.loadStateDict(m.base.stateDict());
    expect(await m2.loadHead(dir, { loadAs: 'copy' })).toBe('copy');
    expect(m2.activeHead).toBe('copy');
    const after = m2.forward({ inputIds: ids() });
    expect(await vals(after.logits)).toEqual(await vals(before.logits));
    await m2.loadHead(join(tmp, 'mlm'));
    expect(m2.getParameter('heads.mlm.3.weight')).toBe(m2.base.inputEmbeddings());
    await expect(m2.loadHead(join(tmp, 'nothing'))).rejects.toThrow(/no model_head.safetensors in .*nothing/);
    disposeOut(before);
    disposeOut(after);
    m.dispose();
    m2.dispose();
  });

  it('castTo changes parameter dtypes and keeps ties', () => {
    const m = model();
    m.addMaskedLMHead('mlm');
    m.castTo('f16');
    expect(m.parameters().every((p) => p.dtype === 'f16')).toBe(true);
    expect(m.getParameter('heads.mlm.3.weight')).toBe(m.base.inputEmbeddings());
    expect((m.base as FakeBase).dense.weight.dtype).toBe('f16');
    m.dispose();
  });
});
