/** The model-level API (model.mergeAdapter / model.resetAdapter) reaches the LoRA method through the host. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '@adapterkit/core';
import { TEST_BACKEND, maxAbsDiffHost } from '@adapterkit/test-utils';
import '../src/index.js';
import { TINY_INPUTS, bertHidden, loadTinyBert, randomiseAdapter } from './helpers.js';

beforeAll(() => setBackend(TEST_BACKEND));

describe('model API: mergeAdapter / resetAdapter', () => {
  it('merges and resets through the model methods', async () => {
    const model = await loadTinyBert();
    const base = await bertHidden(model, TINY_INPUTS);
    model.addAdapter('a', 'lora[r=4, alpha=8]');
    randomiseAdapter(model, 'a', 7);
    model.setActiveAdapters('a');
    const unmerged = await bertHidden(model, TINY_INPUTS);
    model.mergeAdapter('a');
    model.setActiveAdapters(null);
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), unmerged)).toBeLessThanOrEqual(1e-5);
    model.resetAdapter();
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
    expect(() => model.mergeAdapter('missing')).toThrow(/no adapter named 'missing'/);
    model.dispose();
  });
});
