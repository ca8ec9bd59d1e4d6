/**
 * AdapterFusion on the tiny BERT: layers and names, configs, training mode
 * (only fusion weights train), the regulariser, temperature, attentions,
 * and saving / loading fusions and setups.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW, Fuse, Stack, backward, mean, noGrad, setBackend, tensor, tidy, type Tensor,
} from '@adapterkit/core';
import { TEST_BACKEND, ids, loadTinyBert, maxAbsDiffHost, readAndDispose, readF32 } from '@adapterkit/test-utils';
import {
  AdapterFusionConfig, fusionLayersOf, fusionParameters, fusionRegularizationLoss, fusionsOf, withFusionAttentions, withFusionRegularization,
} from '../src/index.js';
import { hiddenWith, randomiseAdapter } from './helpers.js';

beforeAll(() => setBackend(TEST_BACKEND));

const feed = () => ({ inputIds: ids([[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]]), attentionMask: ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]) });

async function model3() {
  const m = await loadTinyBert();
  m.addAdapter('a', 'seq_bn[reduction_factor=4]');
  m.addAdapter('b', 'seq_bn[reduction_factor=8]');
  m.addAdapter('c', 'seq_bn[reduction_factor=4, non_linearity=\'tanh\']');
  for (const [i, n] of ['a', 'b', 'c'].entries()) randomiseAdapter(m, n, 20 + i);
  return m;
}

describe('AdapterFusion', () => {
  let model: Awaited<ReturnType<typeof model3>>;
  let dir: string;
  beforeAll(async () => {
    model = await model3();
    dir = mkdtempSync(join(tmpdir(), 'fusion-'));
  });
  afterAll(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds fusion layers where the adapters are, with Python\'s parameter names', async () => {
    expect(model.addAdapterFusion(new Fuse('a', 'b'))).toBe('a,b');
    const names = fusionParameters(model.adapterHost, 'a,b').map(([k]) => k);
    expect(names).toEqual([
      'encoder.layer.0.output.adapter_fusion_layer.a,b.query.weight', 'encoder.layer.0.output.adapter_fusion_layer.a,b.query.bias',
      'encoder.layer.0.output.adapter_fusion_layer.a,b.key.weight', 'encoder.layer.0.output.adapter_fusion_layer.a,b.key.bias',
      'encoder.layer.0.output.adapter_fusion_layer.a,b.value.weight',
      'encoder.layer.1.output.adapter_fusion_layer.a,b.query.weight', 'encoder.layer.1.output.adapter_fusion_layer.a,b.query.bias',
      'encoder.layer.1.output.adapter_fusion_layer.a,b.key.weight', 'encoder.layer.1.output.adapter_fusion_layer.a,b.key.bias',
      'encoder.layer.1.output.adapter_fusion_layer.a,b.value.weight',
    ]);
    // The value matrix starts at the identity (+1e-6 elsewhere).
    const v = await readF32(fusionLayersOf(model.adapterHost, 'a,b')[0]!.value!.weight);
    expect(v[0]).toBe(1);
    expect(v[1]).toBeCloseTo(1e-6, 12);
    // Adapter parameters do not include fusion weights.
    expect(model.adapterHost.adapterParameters('a').some(([k]) => k.includes('fusion'))).toBe(false);
  });

  it('static fusions have no value matrix; a name clash fails unless overwriteOk', () => {
    model.addAdapterFusion(['b', 'c'], 'static');
    expect(fusionParameters(model.adapterHost, 'b,c').some(([k]) => k.includes('.value.'))).toBe(false);
    expect(() => model.addAdapterFusion('b,c')).toThrow(/exists already/);
    model.addAdapterFusion('b,c', 'static', { overwriteOk: true });
    expect(fusionsOf(model.adapterHost).get('b,c')!.config.preset).toBe('static');
  });

  it('adapters at different locations cannot be fused; non-bottleneck adapters neither', async () => {
    const m = await loadTinyBert();
    m.addAdapter('x', 'seq_bn');
    m.addAdapter('y', 'double_seq_bn');
    m.addAdapter('l', 'lora');
    expect(() => m.addAdapterFusion(['x', 'y'])).toThrow(/same 'mh_adapter' setting/);
    expect(() => m.addAdapterFusion(['x', 'l'])).toThrow(/fuses bottleneck adapters only/);
    expect(() => m.setActiveAdapters(new Fuse('x', 'l'))).toThrow(/Fuse is not supported by method 'lora'/);
    m.dispose();
  });

  it('Fuse changes the output; Fuse(a, a) with the identity value is adapter a', async () => {
    const f = feed();
    const a = await hiddenWith(model, 'a', f);
    expect(maxAbsDiffHost(await hiddenWith(model, new Fuse('a', 'b'), f), a)).toBeGreaterThan(1e-3);
    model.addAdapterFusion(['a', 'a']);
    expect(maxAbsDiffHost(await hiddenWith(model, new Fuse('a', 'a'), f), a)).toBeLessThan(1e-4);
  });

  it('a Fuse without an added fusion fails at the forward, naming it', async () => {
    await expect(hiddenWith(model, new Fuse('c', 'a'), feed())).rejects.toThrow(/no AdapterFusion 'c,a'.*addAdapterFusion/);
  });

  it('a custom name (Fuse(..., {name})) selects that fusion', async () => {
    model.addAdapterFusion(['a', 'b'], 'dynamic', { name: 'mine' });
    const f = feed();
    const out = await hiddenWith(model, new Fuse('a', 'b', { name: 'mine' }), f);
    expect(out.length).toBe(2 * 6 * 32);
    expect(fusionsOf(model.adapterHost).get('mine')!.adapterNames).toEqual(['a', 'b']);
  });

  it('collects the attention weights over the adapters', async () => {
    const f = feed();
    const { result, attentions } = withFusionAttentions(model, () => model.adapterHost.withSetup(new Fuse('a', 'b'), () => noGrad(() => model.forward(f))));
    result.lastHiddenState.dispose();
    const p = attentions['a,b']![1]!.output_adapter!;
    expect(p.shape).toEqual([2, 6, 2]);
    const d = await readF32(p);
    expect(d[0]! + d[1]!).toBeCloseTo(1, 5);
    for (const l of Object.values(attentions['a,b']!)) for (const t of Object.values(l)) t.dispose();
  });

  it('saves and loads a fusion in the Python layout (also under another name)', async () => {
    const f = feed();
    const before = await hiddenWith(model, new Fuse('a', 'b'), f);
    const out = join(dir, 'ab');
    await model.saveAdapterFusion(out, 'a,b');
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_fusion_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ adapter_names: ['a', 'b'], name: 'a,b', model_type: 'bert', hidden_size: 32, config: { value: true, query_before_ln: false, dropout_prob: null } });
    model.deleteAdapterFusion('a,b');
    expect(fusionsOf(model.adapterHost).has('a,b')).toBe(false);
    expect(await model.loadAdapterFusion(out)).toBe('a,b');
    expect(maxAbsDiffHost(await hiddenWith(model, new Fuse('a', 'b'), f), before)).toBe(0);
    expect(await model.loadAdapterFusion(out, { loadAs: 'copy', setActive: true })).toBe('copy');
    expect((model.activeAdapters as Fuse).name).toBe('copy');
    expect(maxAbsDiffHost(await hiddenWith(model, new Fuse('a', 'b', { name: 'copy' }), f), before)).toBe(0);
  });

  it('saveAllAdapterFusions writes one folder per fusion with config_id; Python\'s list form activates Stack(Fuse)', async () => {
    const out = join(dir, 'all');
    await model.saveAllAdapterFusions(out);
    for (const [name, entry] of fusionsOf(model.adapterHost)) {
      const cfg = JSON.parse(readFileSync(join(out, name, 'adapter_fusion_config.json'), 'utf8'));
      expect(cfg.config_id).toBe(entry.config.hash());
    }
    model.setActiveAdapters([['a', 'b']]);
    expect(model.activeAdapters?.toString()).toBe('Stack(Fuse(\'a\', \'b\'))');
    const f = feed();
    expect(maxAbsDiffHost(await hiddenWith(model, model.activeAdapters, f), await hiddenWith(model, new Fuse('a', 'b'), f))).toBe(0);
    model.setActiveAdapters(null);
  });

  it('saves and loads a setup with a fusion (adapter_setup.json)', async () => {
    const f = feed();
    const setup = new Stack(new Fuse('a', 'b'), 'c');
    const before = await hiddenWith(model, setup, f);
    const out = join(dir, 'setup');
    await model.saveAdapterSetup(out, setup);
    const json = JSON.parse(readFileSync(join(out, 'adapter_setup.json'), 'utf8'));
    expect(json.adapter_setup).toEqual({
      type: 'Stack', children: [{ type: 'Fuse', children: [{ type: 'single', children: ['a'] }, { type: 'single', children: ['b'] }] }, { type: 'single', children: ['c'] }],
    });
    const fresh = await loadTinyBert();
    const loaded = await fresh.loadAdapterSetup(out, { setActive: true });
    expect(loaded.adapterSetup.toString()).toBe(setup.toString());
    expect(maxAbsDiffHost(await hiddenWith(fresh, fresh.activeAdapters, f), before)).toBe(0);
    fresh.dispose();
  });

  it('trainAdapterFusion trains only the fusion layers; the regulariser is Σ 0.01·‖I − W_v‖²', async () => {
    const m = model;
    m.trainAdapterFusion(new Fuse('a', 'b'));
    const trainable = m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
    expect(trainable.length).toBe(10);
    expect(trainable.every((k) => k.includes('adapter_fusion_layer.a,b.'))).toBe(true);
    // At the start W_v = I + 1e-6 off the diagonal: 2 layers · 0.01 · (32² − 32) · 1e-12.
    const reg = await readAndDispose(fusionRegularizationLoss(m)!);
    expect(reg[0]!).toBeCloseTo(2 * 0.01 * (32 * 32 - 32) * 1e-12, 15);

    const f = feed();
    const adapterParams = m.adapterHost.adapterParameters('a').map(([, p]) => p);
    const adapterBefore = await Promise.all(adapterParams.map(readF32));
    const value = fusionLayersOf(m.adapterHost, 'a,b')[0]!.value!.weight;
    const valueBefore = await readF32(value);
    const opt = new AdamW(m.parameters().filter((p) => p.requiresGrad), { lr: 1e-2 });
    for (let step = 0; step < 2; step++) {
      tidy(() => {
        const h = m.forward(f).lastHiddenState;
        const loss = withFusionRegularization(m, mean(h));
        backward(loss);
      });
      opt.step();
      opt.zeroGrad();
    }
    expect(maxAbsDiffHost(await readF32(value), valueBefore)).toBeGreaterThan(1e-4);
    const adapterAfter = await Promise.all(adapterParams.map(readF32));
    adapterAfter.forEach((after, i) => expect(maxAbsDiffHost(after, adapterBefore[i]!)).toBe(0));
    expect((await readAndDispose(fusionRegularizationLoss(m)!))[0]!).toBeGreaterThan(1e-8);
    m.eval();
    m.freezeModel(false);
    m.freezeModel(true);
    expect(fusionRegularizationLoss(m)).toBeNull();

    m.trainAdapterFusion(new Fuse('a', 'b'), { unfreezeAdapters: true });
    expect(m.adapterHost.adapterParameters('b').every(([, p]) => p.requiresGrad)).toBe(true);
    m.eval();
  });

  it('temperature starts at 50 and decays by 0.05 per training pass only', async () => {
    const m = await model3();
    const cfg = { ...AdapterFusionConfig.load('dynamic').fields, temperature: true };
    m.addAdapterFusion(['a', 'b'], cfg as unknown as Record<string, never>);
    const layer = fusionLayersOf(m.adapterHost, 'a,b')[1]!;
    expect(layer.T).toBe(50);
    const f = feed();
    await hiddenWith(m, new Fuse('a', 'b'), f);
    expect(layer.T).toBe(50); // eval: unchanged (Python would decay here too, quirk Q4)
    m.train();
    await hiddenWith(m, new Fuse('a', 'b'), f);
    await hiddenWith(m, new Fuse('a', 'b'), f);
    expect(layer.T).toBeCloseTo(49.9, 10);
    m.dispose();
  });

  it('deleting the active fusion clears the setup', () => {
    model.setActiveAdapters(new Fuse('b', 'c'));
    model.deleteAdapterFusion(['b', 'c']);
    expect(model.activeAdapters).toBeNull();
    model.deleteAdapterFusion('not-there'); // a no-op, as Python
  });
});

describe('fusion regulariser gradient', () => {
  it('adds 0.02·(W_v − I) to the value gradient', async () => {
    const m = await model3();
    m.addAdapterFusion(['a', 'b']);
    m.trainAdapterFusion(new Fuse('a', 'b'));
    const w = fusionLayersOf(m.adapterHost, 'a,b')[0]!.value!.weight;
    const shifted = (await readF32(w)).map((x, i) => x + (i % 7 === 0 ? 0.01 : 0));
    noGrad(() => {
      const t = tensor(shifted, w.shape);
      w.assign(t);
      t.dispose();
    });
    tidy(() => backward(fusionRegularizationLoss(m) as Tensor));
    const g = await readF32(w.grad!);
    const wd = await readF32(w);
    const h = 32;
    for (const i of [0, 7, 33, 100]) expect(g[i]).toBeCloseTo(0.02 * (wd[i]! - (Math.floor(i / h) === i % h ? 1 : 0)), 6);
    m.dispose();
  });
});
