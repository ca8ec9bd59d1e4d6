/**
 * LoRA / (IA)³ and prefix tuning in the blocks they support (Python's
 * table): Parallel and BatchSplit channels equal single-adapter runs,
 * Average is the weighted average of the adapters' effects, unsupported
 * blocks fail with the method and block named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Average, BatchSplit, Fuse, Parallel, Split, Stack, setBackend, type Tensor } from '@adapterkit/core';
import { setLoRASemantics } from '@adapterkit/method-lora';
import { TEST_BACKEND, ids, loadTinyBert, maxAbsDiffHost } from '@adapterkit/test-utils';
import '../src/index.js';
import { hiddenWith, loadTinyLlama, randomiseAdapter, rowsOf } from './helpers.js';

beforeAll(() => setBackend(TEST_BACKEND));

const PER = 6 * 32;

describe('LoRA and (IA)³ blocks on the tiny BERT', () => {
  let model: Awaited<ReturnType<typeof loadTinyBert>>;
  let feed: { inputIds: Tensor; attentionMask: Tensor };
  beforeAll(async () => {
    model = await loadTinyBert();
    model.addAdapter('la', 'lora[r=4, alpha=8]');
    model.addAdapter('lb', 'lora[r=2, selfattn_lora=False, intermediate_lora=True, output_lora=True]');
    model.addAdapter('ia', 'ia3');
    for (const [i, n] of ['la', 'lb', 'ia'].entries()) randomiseAdapter(model, n, 40 + i);
    feed = { inputIds: ids([[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]), attentionMask: ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]) };
  });
  afterAll(() => model?.dispose());

  it('Parallel: channel i equals adapter i alone (adapters at different projections too)', async () => {
    const out = await hiddenWith(model, new Parallel('la', 'lb', 'ia'), feed);
    for (const [i, n] of ['la', 'lb', 'ia'].entries()) expect(maxAbsDiffHost(rowsOf(out, 2 * i, 2, PER), await hiddenWith(model, n, feed)), n).toBeLessThan(1e-5);
  });

  it('BatchSplit rows equal the single adapters on their rows', async () => {
    const out = await hiddenWith(model, new BatchSplit(['ia', 'la'], [1, 1]), feed);
    expect(maxAbsDiffHost(rowsOf(out, 0, 1, PER), rowsOf(await hiddenWith(model, 'ia', feed), 0, 1, PER))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, 1, 1, PER), rowsOf(await hiddenWith(model, 'la', feed), 1, 1, PER))).toBeLessThan(1e-5);
  });

  it('Average: weights [1, 0] give the first adapter, Average(x, x) gives x', async () => {
    const la = await hiddenWith(model, 'la', feed);
    expect(maxAbsDiffHost(await hiddenWith(model, new Average(['la', 'lb'], [1, 0]), feed), la)).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(await hiddenWith(model, new Average(['la', 'la'], [0.2, 0.8]), feed), la)).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(await hiddenWith(model, new Average(['ia', 'ia']), feed), await hiddenWith(model, 'ia', feed))).toBeLessThan(1e-5);
  });

  it('Stack(la, Parallel(lb, ia)) adds la in every channel', async () => {
    const out = await hiddenWith(model, new Stack('la', new Parallel('lb', 'ia')), feed);
    expect(maxAbsDiffHost(rowsOf(out, 0, 2, PER), await hiddenWith(model, new Stack('la', 'lb'), feed))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, 2, 2, PER), await hiddenWith(model, new Stack('la', 'ia'), feed))).toBeLessThan(1e-5);
  });

  it('with \'python\' LoRA semantics too: Parallel channels are the single adapters, Average(x, x) is x', async () => {
    setLoRASemantics(model, 'python');
    try {
      const out = await hiddenWith(model, new Parallel('la', 'ia'), feed);
      expect(maxAbsDiffHost(rowsOf(out, 0, 2, PER), await hiddenWith(model, 'la', feed))).toBeLessThan(1e-5);
      expect(maxAbsDiffHost(rowsOf(out, 2, 2, PER), await hiddenWith(model, 'ia', feed))).toBeLessThan(1e-5);
      expect(maxAbsDiffHost(await hiddenWith(model, new Average(['la', 'la'], [0.4, 0.6]), feed), await hiddenWith(model, 'la', feed))).toBeLessThan(1e-5);
      expect(maxAbsDiffHost((await hiddenWith(model, new BatchSplit(['ia', 'la'], [1, 1]), feed)).slice(PER), rowsOf(await hiddenWith(model, 'la', feed), 1, 1, PER))).toBeLessThan(1e-5);
    } finally {
      setLoRASemantics(model, 'adapterkit');
    }
  });

  it('Fuse and Split are not supported by LoRA: the error names method and block', () => {
    expect(() => model.setActiveAdapters(new Split(['la', 'lb'], [3, 3]))).toThrow(/composition block Split is not supported by method 'lora' \(adapter 'la'\)/);
    expect(() => model.setActiveAdapters(new Fuse('la', 'lb'))).toThrow(/Fuse is not supported by method 'lora'/);
  });
});

describe('prefix tuning blocks on the tiny BERT', () => {
  let model: Awaited<ReturnType<typeof loadTinyBert>>;
  let feed: { inputIds: Tensor; attentionMask: Tensor };
  beforeAll(async () => {
    model = await loadTinyBert();
    model.addAdapter('pa', 'prefix_tuning[prefix_length=5, bottleneck_size=16]');
    model.addAdapter('pb', 'prefix_tuning[prefix_length=3, flat=True]');
    randomiseAdapter(model, 'pa', 50);
    randomiseAdapter(model, 'pb', 51);
    feed = { inputIds: ids([[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]), attentionMask: ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]) };
  });
  afterAll(() => model?.dispose());

  it('Parallel channels equal the single prefixes (different prefix lengths: the shorter is padded and masked)', async () => {
    const out = await hiddenWith(model, new Parallel('pa', 'pb'), feed);
    expect(maxAbsDiffHost(rowsOf(out, 0, 2, PER), await hiddenWith(model, 'pa', feed))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, 2, 2, PER), await hiddenWith(model, 'pb', feed))).toBeLessThan(1e-5);
  });

  it('Parallel without an attention mask, and BatchSplit', async () => {
    const noMask = { inputIds: feed.inputIds };
    const out = await hiddenWith(model, new Parallel('pb', 'pa'), noMask);
    expect(maxAbsDiffHost(rowsOf(out, 0, 2, PER), await hiddenWith(model, 'pb', noMask))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, 2, 2, PER), await hiddenWith(model, 'pa', noMask))).toBeLessThan(1e-5);
    const bs = await hiddenWith(model, new BatchSplit(['pa', 'pb'], [1, 1]), feed);
    expect(maxAbsDiffHost(rowsOf(bs, 0, 1, PER), rowsOf(await hiddenWith(model, 'pa', feed), 0, 1, PER))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(bs, 1, 1, PER), rowsOf(await hiddenWith(model, 'pb', feed), 1, 1, PER))).toBeLessThan(1e-5);
  });

  it('Average, Split and Fuse are not supported by prefix tuning', () => {
    expect(() => model.setActiveAdapters(new Average(['pa', 'pb']))).toThrow(/Average is not supported by method 'prefix_tuning'/);
    expect(() => model.setActiveAdapters(new Split(['pa', 'pb'], 3))).toThrow(/Split is not supported by method 'prefix_tuning'/);
  });
});

describe('mixed methods and Llama', () => {
  it('Parallel over LoRA and prefix tuning on the tiny Llama equals the single adapters', async () => {
    const model = await loadTinyLlama();
    try {
      model.addAdapter('l', 'lora[r=4]');
      model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=8]');
      model.addAdapter('s', 'seq_bn');
      for (const [i, n] of ['l', 'p', 's'].entries()) randomiseAdapter(model, n, 60 + i);
      // Right padding: a left-padded first position attends to nothing, and its (meaningless) uniform
      // attention then also covers the masked padding slots of a shorter prefix.
      const feed = { inputIds: ids([[1, 17, 42, 99, 5], [1, 76, 12, 45, 8]]), attentionMask: ids([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]) };
      const per = 5 * 32;
      const out = await hiddenWith(model, new Parallel('l', 'p', 's'), feed);
      for (const [i, n] of ['l', 'p', 's'].entries()) expect(maxAbsDiffHost(rowsOf(out, 2 * i, 2, per), await hiddenWith(model, n, feed)), n).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  });
});
