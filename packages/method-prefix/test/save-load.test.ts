/** saveAdapter / loadAdapter round trips in TS, the flat (ejected) save option, and Python's aliased layout. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack, loadSafetensors, saveSafetensors, type AdapterModelApi, type BertModel } from '@adapterkit/core';
import { ids, maxAbsDiffHost, readNoGrad } from '@adapterkit/test-utils';
import { prefixTuningEjectOnSave, setPrefixTuningEjectOnSave } from '../src/index.js';
import { TINY_IDS, TINY_MASK, randomizeAdapter, tinyBert } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'method-prefix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (model: BertModel): Promise<Float32Array> =>
  readNoGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState);

function savedKeys(path: string): string[] {
  const buf = readFileSync(join(path, 'adapter.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  return Object.keys(JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as object).filter((k) => k !== '__metadata__').sort();
}

const CONFIGS: [string, string][] = [
  ['reparam', 'prefix_tuning[prefix_length=3, bottleneck_size=8]'],
  ['flat', 'prefix_tuning_flat[prefix_length=3, leave_out=[1]]'],
  ['gated', 'prefix_tuning[prefix_length=2, bottleneck_size=4, use_gating=True, shared_gating=False]'],
  ['prompt', 'prompt_tuning[prompt_length=3]'],
  ['prompt_bos', 'prompt_tuning[prompt_length=3, combine="prefix_after_bos"]'],
];

describe('TS save → load', () => {
  it.each(CONFIGS)('%s round-trips (same outputs, also under another name)', async (name, config) => {
    const a = tinyBert();
    a.addAdapter(name, config, { setActive: true });
    randomizeAdapter(a.adapterHost, name, 11);
    const want = await run(a);
    await a.saveAdapter(join(dir, name), name);
    const b = tinyBert();
    for (const loadAs of [undefined, 'renamed']) {
      const got = await b.loadAdapter(join(dir, name), { loadAs, setActive: true });
      expect(got).toBe(loadAs ?? name);
      expect(maxAbsDiffHost(await run(b), want)).toBe(0);
    }
    const saved = JSON.parse(readFileSync(join(dir, name, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(saved.config).toEqual(a.adapterHost.configs.get(name)!.toDict());
    a.dispose();
    b.dispose();
  });

  it('writes the Python layout by default and the flat form when asked, leaving the model reparametrised', async () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning[prefix_length=3, bottleneck_size=8, use_gating=True]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 12);
    const want = await run(model);
    const namesBefore = model.adapterHost.adapterParameters('p').map(([k]) => k);
    await model.saveAdapter(join(dir, 'default'), 'p');
    expect(savedKeys(join(dir, 'default'))).toEqual([...namesBefore].sort());
    expect(prefixTuningEjectOnSave(model)).toBe(false);
    setPrefixTuningEjectOnSave(model, true);
    await model.saveAdapter(join(dir, 'ejected'), 'p');
    setPrefixTuningEjectOnSave(model, false);
    const gates = namesBefore.filter((k) => k.includes('prefix_gates'));
    expect(savedKeys(join(dir, 'ejected'))).toEqual(['prefix_tuning.prefix_tunings.p.self_prefix.control_trans', ...gates].sort());
    const saved = JSON.parse(readFileSync(join(dir, 'ejected', 'adapter_config.json'), 'utf8')) as { config: { flat: boolean; bottleneck_size: number } };
    expect(saved.config.flat).toBe(true);
    // The model keeps its MLP, config and outputs.
    expect(model.adapterHost.adapterParameters('p').map(([k]) => k)).toEqual(namesBefore);
    expect(model.adapterHost.configs.get('p')!.toDict().flat).toBe(false);
    expect(maxAbsDiffHost(await run(model), want)).toBe(0);
    // The flat file loads as a flat prefix with the same outputs.
    const other = tinyBert();
    await other.loadAdapter(join(dir, 'ejected'), { setActive: true });
    expect(other.adapterHost.configs.get('p')!.toDict().flat).toBe(true);
    expect(maxAbsDiffHost(await run(other), want)).toBeLessThanOrEqual(1e-5);
    model.dispose();
    other.dispose();
  });

  it("loads Python's full state-dict layout (the pool repeated under every attention layer)", async () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning[prefix_length=3, bottleneck_size=8]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 13);
    const want = await run(model);
    await model.saveAdapter(join(dir, 'aliased'), 'p');
    const file = await loadSafetensors(join(dir, 'aliased', 'adapter.safetensors'));
    const withAliases = new Map(file);
    for (const [k, t] of file) {
      for (const layer of [0, 1, 2]) withAliases.set(k.replace('prefix_tuning.prefix_tunings.', `encoder.layer.${layer}.attention.self.prefix_tuning.pool.prefix_tunings.`), t);
    }
    expect(withAliases.size).toBe(4 * file.size);
    await saveSafetensors(join(dir, 'aliased', 'adapter.safetensors'), withAliases);
    for (const t of file.values()) t.dispose();
    const other = tinyBert();
    await other.loadAdapter(join(dir, 'aliased'), { setActive: true });
    expect(maxAbsDiffHost(await run(other), want)).toBe(0);
    model.dispose();
    other.dispose();
  });

  it('saves and loads a stack of two prefix adapters independently', async () => {
    const model = tinyBert();
    model.addAdapter('a', 'prefix_tuning_flat[prefix_length=2]');
    model.addAdapter('b', 'prefix_tuning[prefix_length=3, bottleneck_size=4]');
    randomizeAdapter(model.adapterHost, 'a', 14);
    randomizeAdapter(model.adapterHost, 'b', 15);
    model.setActiveAdapters(new Stack('a', 'b'));
    const want = await run(model);
    await model.saveAdapter(join(dir, 'sa'), 'a');
    await model.saveAdapter(join(dir, 'sb'), 'b');
    const other: BertModel & AdapterModelApi = tinyBert();
    await other.loadAdapter(join(dir, 'sa'));
    await other.loadAdapter(join(dir, 'sb'));
    other.setActiveAdapters(new Stack('a', 'b'));
    expect(maxAbsDiffHost(await run(other), want)).toBe(0);
    // Attention is invariant to the order of its keys, so Stack('b', 'a') gives the same output (within rounding).
    other.setActiveAdapters(new Stack('b', 'a'));
    expect(maxAbsDiffHost(await run(other), want)).toBeLessThan(1e-5);
    model.dispose();
    other.dispose();
  });
});
