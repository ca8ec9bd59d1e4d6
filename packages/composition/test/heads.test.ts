/**
 * AdapterModel with several heads: a Parallel setup runs one head per
 * channel (Python MultiHeadOutput, summed loss), a BatchSplit setup one
 * head per slice; fusion API on AdapterModel (key names with 'bert.').
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSplit, Fuse, Parallel, noGrad, setBackend, tensor, tidy } from '@adapterkit/core';
import { TEST_BACKEND, ids, maxAbsDiffHost, readAndDispose, readF32 } from '@adapterkit/test-utils';
import { fusionParameters } from '../src/index.js';
import { randomiseAdapter, tinyAdapterModel } from './helpers.js';

beforeAll(() => setBackend(TEST_BACKEND));

describe('AdapterModel heads with Parallel and BatchSplit', () => {
  const model = tinyAdapterModel();
  const inputIds = ids([[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]);
  const attentionMask = ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]);
  beforeAll(() => {
    model.addAdapter('a', 'seq_bn[reduction_factor=4]');
    model.addAdapter('b', 'lora[r=4]');
    randomiseAdapter(model, 'a', 70);
    randomiseAdapter(model, 'b', 71);
    model.addClassificationHead('a', { numLabels: 2 });
    model.addClassificationHead('b', { numLabels: 3 });
  });
  afterAll(() => model.dispose());

  /** Logits and loss (host copies) of the single adapter `name` with its head. */
  const single = async (name: string, labels?: number[]): Promise<{ logits: Float32Array; loss?: number }> => {
    const o = noGrad(() =>
      model.adapterHost.withSetup(name, () =>
        tidy(() => {
          const o = model.forward({ inputIds, attentionMask, head: name, labels: labels ? tensor(Int32Array.from(labels), [labels.length], { dtype: 'i32' }) : undefined });
          return { logits: o.logits, loss: o.loss };
        }),
      ),
    );
    return { logits: await readAndDispose(o.logits), loss: o.loss ? (await readAndDispose(o.loss))[0]! : undefined };
  };

  it('setActiveAdapters(Parallel) activates one head per channel and returns one output per head', async () => {
    model.setActiveAdapters(new Parallel('a', 'b'));
    expect(model.activeHeadSetup).toEqual(['a', 'b']);
    const labels = tensor(Int32Array.from([1, 0]), [2], { dtype: 'i32' });
    const out = noGrad(() => model.forward({ inputIds, attentionMask, labels }));
    expect(out.head).toBe('a,b');
    expect(out.headOutputs!.map((o) => o.logits.shape)).toEqual([[2, 2], [2, 3]]);
    expect(out.lastHiddenState.shape).toEqual([4, 6, 32]);
    const sa = await single('a', [1, 0]);
    const sb = await single('b', [1, 0]);
    expect(maxAbsDiffHost(await readF32(out.headOutputs![0]!.logits), sa.logits)).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(await readF32(out.headOutputs![1]!.logits), sb.logits)).toBeLessThan(1e-5);
    expect((await readF32(out.loss!))[0]).toBeCloseTo(sa.loss! + sb.loss!, 5);
    // Logits of different widths have no combined view: the first head's.
    expect(out.logits.shape).toEqual([2, 2]);
  });

  it('BatchSplit heads get their rows, targets and mask; logits of one width are concatenated', async () => {
    model.addClassificationHead('b', { numLabels: 2, overwriteOk: true });
    randomiseAdapter(model, 'b', 72);
    model.setActiveAdapters(new BatchSplit(['a', 'b'], [1, 1]));
    expect(model.activeHeadSetup).toBeInstanceOf(BatchSplit);
    const out = noGrad(() => model.forward({ inputIds, attentionMask, labels: tensor(Int32Array.from([1, 0]), [2], { dtype: 'i32' }) }));
    expect(out.logits.shape).toEqual([2, 2]);
    const sa = await single('a');
    const sb = await single('b');
    const got = await readF32(out.logits);
    expect(maxAbsDiffHost(got.slice(0, 2), sa.logits.slice(0, 2))).toBeLessThan(1e-5);
    expect(maxAbsDiffHost(got.slice(2, 4), sb.logits.slice(2, 4))).toBeLessThan(1e-5);
    expect(out.loss).toBeDefined();
  });

  it('a Parallel setup without a head per channel fails, naming what is missing', () => {
    model.addAdapter('c', 'seq_bn');
    model.setActiveAdapters(new Parallel('a', 'c'));
    expect(model.activeHeadSetup).toBeNull();
    expect(() => model.forward({ inputIds })).toThrow(/2 parallel channels, so it needs 2 heads/);
    // An explicit head runs over all N·B rows.
    const out = noGrad(() => model.forward({ inputIds, head: 'a' }));
    expect(out.logits.shape).toEqual([4, 2]);
  });

  it('the fusion API works on AdapterModel (keys with the bert. prefix) and keeps the heads trainable', () => {
    model.addAdapter('d', 'seq_bn[reduction_factor=8]');
    model.addAdapterFusion(['a', 'c'], 'static', { setActive: true });
    expect(model.activeAdapters).toBeInstanceOf(Fuse);
    // No head is named after the fusion's last adapter 'c': the active head stays (as Python).
    expect(model.activeHead).toBe('b');
    expect(fusionParameters(model.adapterHost, 'a,c')[0]![0]).toBe('bert.encoder.layer.0.output.adapter_fusion_layer.a,c.query.weight');
    model.trainAdapterFusion(new Fuse('a', 'c'));
    expect(model.heads.get('a')!.parameters().every((p) => p.requiresGrad)).toBe(true);
    model.eval();
  });
});
