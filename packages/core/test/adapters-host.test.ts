import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AdamW, BertModel, backward, initAdapters, mean, noGrad, parseBertConfig, tensor, tidy, type Tensor,
} from '../src/index.js';
import { registerScaleMethod } from './scale-method.js';

/**
 * A minimal method used to test the host: a learned scalar per residual site,
 * out = LN(h·(1+s) + x). Real methods live in their own packages.
 */
registerScaleMethod('test_scale', 'TestScaleConfig', { init: 0.5, leave_out: [] });

const fixtureDir = new URL('./fixtures/bert/bert/', import.meta.url);
const config = parseBertConfig(JSON.parse(readFileSync(new URL('config.json', fixtureDir), 'utf8')));
const ids = tensor(new Int32Array([2, 5, 7, 9, 3, 4, 6, 1]), [2, 4], { dtype: 'i32' });
const tmp = mkdtempSync(join(tmpdir(), 'adapterkit-host-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function freshModel() {
  const m = initAdapters(new BertModel(config, { addPoolingLayer: false }));
  m.eval();
  return m;
}

async function hidden(m: BertModel): Promise<Float32Array> {
  const h = noGrad(() => tidy(() => m.forward({ inputIds: ids }).lastHiddenState));
  try {
    return (await h.data()) as Float32Array;
  } finally {
    h.dispose();
  }
}

/** Host copies of every parameter's values, by name. */
async function snapshot(m: BertModel): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, p] of m.namedParameters()) out.set(k, Array.from(await p.data()));
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('adapter host', () => {
  it('a model without an active adapter computes exactly what it did before', async () => {
    const m = freshModel();
    const before = await hidden(m);
    m.addAdapter('a', 'test_scale');
    expect(maxDiff(await hidden(m), before)).toBe(0);
    m.setActiveAdapters('a');
    expect(maxDiff(await hidden(m), before)).toBeGreaterThan(1e-3);
    m.setActiveAdapters(null);
    expect(maxDiff(await hidden(m), before)).toBe(0);
  });

  it('names adapter weights like the Python library and counts them in the summary', () => {
    const m = freshModel();
    m.addAdapter('task', 'test_scale[leave_out=[0]]');
    const names = m.adapterHost.adapterParameters('task').map(([k]) => k);
    expect(names).toEqual(['encoder.layer.1.attention.output.adapters.task.s', 'encoder.layer.1.output.adapters.task.s']);
    const rows = m.adapterSummaryRows();
    expect(rows[0]).toMatchObject({ name: 'task', architecture: 'test_scale', numParams: 2, active: false });
    expect(rows.at(-1)!.name).toBe('Full model');
    expect(m.adapterSummary()).toMatch(/^=+\nName {21}Architecture {9}#Param {6}%Param {2}Active {3}Train\n-+\ntask/);
  });

  it('rejects duplicates, unknown adapters in setups and unsupported blocks', () => {
    const m = freshModel();
    m.addAdapter('a', 'test_scale');
    expect(() => m.addAdapter('a', 'test_scale')).toThrow(/already exists/);
    m.addAdapter('a', 'test_scale[init=0.1]', { overwriteOk: true });
    expect(() => m.setActiveAdapters('missing')).toThrow(/adapter 'missing' .* does not exist/);
    m.addAdapter('b', 'test_scale');
    expect(() => m.setActiveAdapters(['a', ['a', 'b']])).toThrow(/Fuse is not supported by method 'test_scale'/);
  });

  it('trainAdapter freezes the base model and trains only that adapter', async () => {
    const m = freshModel();
    m.addAdapter('a', 'test_scale');
    m.addAdapter('other', 'test_scale');
    m.trainAdapter('a');
    const trainable = m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
    expect(trainable.every((k) => k.includes('.adapters.a.'))).toBe(true);
    expect(trainable.length).toBe(2 * config.numHiddenLayers);
    const before = await snapshot(m);
    const opt = new AdamW(m.parameters().filter((p) => p.requiresGrad), { lr: 0.1 });
    for (let i = 0; i < 3; i++) {
      const loss = tidy(() => mean(m.forward({ inputIds: ids }).lastHiddenState as Tensor));
      backward(loss);
      opt.step();
      opt.zeroGrad();
      loss.dispose();
    }
    for (const [k, values] of await snapshot(m)) {
      const changed = values.some((v, i) => v !== before.get(k)![i]);
      expect(changed, k).toBe(k.includes('.adapters.a.'));
    }
    m.freezeModel(false);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('deleteAdapter removes its weights and clears a setup that used it', () => {
    const m = freshModel();
    m.addAdapter('a', 'test_scale', { setActive: true });
    m.deleteAdapter('a');
    expect(m.namedParameters().some(([k]) => k.includes('adapters.a'))).toBe(false);
    expect(m.activeAdapters).toBeNull();
    m.deleteAdapter('never-existed');
  });

  it('saves in the Python layout and loads back exactly, under another name too', async () => {
    const src = freshModel();
    src.addAdapter('a', 'test_scale[init=0.25]', { setActive: true });
    const expected = await hidden(src);
    const dir = join(tmp, 'a');
    await src.saveAdapter(dir, 'a');
    expect(readdirSync(dir).sort()).toEqual(['adapter.safetensors', 'adapter_config.json']);
    const saved = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(saved).toMatchObject({ name: 'a', model_type: 'bert', model_class: 'BertModel', hidden_size: config.hiddenSize, config: { architecture: 'test_scale', init: 0.25 } });
    expect(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).toMatch(/^\{\n  "config": \{\n    "architecture": "test_scale",\n    "init": 0.25,/);

    const dst = freshModel();
    const base = new Map([...src.stateDict()].filter(([k]) => !k.includes('.adapters.')));
    dst.loadStateDict(base);
    const name = await dst.loadAdapter(dir, { loadAs: 'b', setActive: true });
    expect(name).toBe('b');
    expect(maxDiff(await hidden(dst), expected)).toBe(0);
    await expect(dst.loadAdapter(join(tmp, 'nothing-here'))).rejects.toThrow(/adapter_config.json not found/);
  });
});
