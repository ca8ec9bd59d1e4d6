/**
 * Bottleneck adapters in every block, on the tiny BERT and the tiny Llama:
 * Parallel and BatchSplit rows equal separate single-adapter runs, Split
 * and Average have their defining properties, invalid sizes fail with the
 * block named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Average, BatchSplit, Fuse, Parallel, Split, Stack, backward, liveTensors, mean, setBackend, tidy, type Tensor } from '@adapterkit/core';
import { TEST_BACKEND, ids, loadTinyBert, maxAbsDiffHost } from '@adapterkit/test-utils';
import '../src/index.js';
import { hiddenWith, loadTinyLlama, randomiseAdapter, rowsOf } from './helpers.js';

beforeAll(() => setBackend(TEST_BACKEND));

describe('bottleneck blocks on the tiny BERT', () => {
  let model: Awaited<ReturnType<typeof loadTinyBert>>;
  let feed: { inputIds: Tensor; attentionMask: Tensor };
  const B = 2;
  const L = 6;
  const H = 32;

  beforeAll(async () => {
    model = await loadTinyBert();
    model.addAdapter('a', 'seq_bn[reduction_factor=4]');
    model.addAdapter('b', 'seq_bn[reduction_factor=8, non_linearity=\'swish\']');
    model.addAdapter('c', 'double_seq_bn[reduction_factor=4]');
    randomiseAdapter(model, 'a', 1);
    randomiseAdapter(model, 'b', 2);
    randomiseAdapter(model, 'c', 3);
    feed = { inputIds: ids([[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]), attentionMask: ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]) };
  });
  afterAll(() => model?.dispose());

  it('Parallel gives B·N rows, channel i equal to adapter i alone', async () => {
    const out = await hiddenWith(model, new Parallel('a', 'b', 'c'), feed);
    expect(out.length).toBe(3 * B * L * H);
    for (const [i, n] of ['a', 'b', 'c'].entries()) {
      expect(maxAbsDiffHost(rowsOf(out, i * B, B, L * H), await hiddenWith(model, n, feed))).toBeLessThan(1e-5);
    }
    // Different adapters give different channels.
    expect(maxAbsDiffHost(rowsOf(out, 0, B, L * H), rowsOf(out, B, B, L * H))).toBeGreaterThan(1e-3);
  });

  it('Stack(a, Parallel(b, c)) runs a in every channel, then each channel\'s adapter', async () => {
    const out = await hiddenWith(model, new Stack('a', new Parallel('b', 'c')), feed);
    expect(maxAbsDiffHost(rowsOf(out, 0, B, L * H), await hiddenWith(model, new Stack('a', 'b'), feed))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, B, B, L * H), await hiddenWith(model, new Stack('a', 'c'), feed))).toBeLessThan(1e-5);
  });

  it('BatchSplit rows equal the single adapters on their rows (sizes with a zero too)', async () => {
    const out = await hiddenWith(model, new BatchSplit(['a', 'b'], [1, 1]), feed);
    expect(maxAbsDiffHost(rowsOf(out, 0, 1, L * H), rowsOf(await hiddenWith(model, 'a', feed), 0, 1, L * H))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(rowsOf(out, 1, 1, L * H), rowsOf(await hiddenWith(model, 'b', feed), 1, 1, L * H))).toBeLessThan(1e-5);
    const zero = await hiddenWith(model, new BatchSplit(['a', 'b'], [0, 2]), feed);
    expect(maxAbsDiffHost(zero, await hiddenWith(model, 'b', feed))).toBeLessThan(1e-5);
  });

  it('BatchSplit sizes that do not cover the batch fail, naming the block', async () => {
    await expect(hiddenWith(model, new BatchSplit(['a', 'b'], [1, 2]), feed)).rejects.toThrow(/BatchSplit sizes \[1, 2\] sum to 3, but the batch has 2 rows/);
  });

  it('Split adapts the two parts of the sequence with different adapters', async () => {
    const out = await hiddenWith(model, new Split(['a', 'b'], [3, 3]), feed);
    expect(out.length).toBe(B * L * H);
    // Split(a, a) is the adapter a everywhere (every op of a bottleneck adapter is per position).
    expect(maxAbsDiffHost(await hiddenWith(model, new Split(['a', 'a'], [2, 4]), feed), await hiddenWith(model, 'a', feed))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(out, await hiddenWith(model, 'a', feed))).toBeGreaterThan(1e-3);
    await expect(hiddenWith(model, new Split(['a', 'b'], [3, 4]), feed)).rejects.toThrow(/Split sizes \[3, 4\] sum to 7, but the sequence has 6 positions/);
  });

  it('Average is a true weighted average: Average(a, a) = a, weights [1, 0] = the first child', async () => {
    const a = await hiddenWith(model, 'a', feed);
    expect(maxAbsDiffHost(await hiddenWith(model, new Average(['a', 'a'], [0.3, 0.7]), feed), a)).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(await hiddenWith(model, new Average(['a', 'b'], [2, 0]), feed), a)).toBeLessThan(1e-5);
    const mixed = await hiddenWith(model, new Average(['a', 'b']), feed);
    expect(maxAbsDiffHost(mixed, a)).toBeGreaterThan(1e-3);
  });

  it('frees every intermediate: forward passes and a training step leave no tensors behind', async () => {
    model.addAdapterFusion(['a', 'b']);
    const setups = [new Parallel('a', 'b'), new BatchSplit(['a', 'b'], [1, 1]), new Split(['a', 'b'], [3, 3]), new Average(['a', 'b']), new Fuse('a', 'b')];
    for (const s of setups) await hiddenWith(model, s, feed); // warm-up (caches)
    const before = liveTensors();
    for (const s of setups) await hiddenWith(model, s, feed);
    expect(liveTensors()).toBe(before);
    model.trainAdapter(['a', 'b']);
    model.setActiveAdapters(new Parallel('a', 'b'));
    tidy(() => backward(mean(model.forward(feed).lastHiddenState)));
    for (const p of model.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    expect(liveTensors()).toBe(before);
    model.eval();
    model.freezeModel(false);
  });

  it('nested blocks: Average over a BatchSplit, Split of Stacks', async () => {
    const avg = await hiddenWith(model, new Average([new BatchSplit(['a', 'b'], [1, 1]), new BatchSplit(['a', 'b'], [1, 1])]), feed);
    expect(maxAbsDiffHost(avg, await hiddenWith(model, new BatchSplit(['a', 'b'], [1, 1]), feed))).toBeLessThan(1e-5);
    const split = await hiddenWith(model, new Split([new Stack('a', 'b'), new Stack('a', 'b')], [1, 5]), feed);
    expect(maxAbsDiffHost(split, await hiddenWith(model, new Stack('a', 'b'), feed))).toBeLessThan(1e-5);
  });
});

describe('bottleneck blocks on the tiny Llama (pre-LN, causal mask)', () => {
  it('Parallel and BatchSplit channels equal the single adapters', async () => {
    const model = await loadTinyLlama();
    try {
      model.addAdapter('a', 'seq_bn');
      model.addAdapter('b', 'double_seq_bn');
      randomiseAdapter(model, 'a', 11);
      randomiseAdapter(model, 'b', 12);
      const feed = { inputIds: ids([[1, 17, 42, 99, 5], [1, 76, 12, 45, 8]]), attentionMask: ids([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]]) };
      const per = 5 * 32;
      const par = await hiddenWith(model, new Parallel('a', 'b'), feed);
      expect(maxAbsDiffHost(rowsOf(par, 0, 2, per), await hiddenWith(model, 'a', feed))).toBeLessThan(1e-5);
      expect(maxAbsDiffHost(rowsOf(par, 2, 2, per), await hiddenWith(model, 'b', feed))).toBeLessThan(1e-5);
      const bs = await hiddenWith(model, new BatchSplit(['b', 'a'], [1, 1]), feed);
      expect(maxAbsDiffHost(rowsOf(bs, 1, 1, per), rowsOf(await hiddenWith(model, 'a', feed), 1, 1, per))).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  });
});
