/**
 * Model-level behaviour of bottleneck adapters on a tiny random BERT (hidden
 * 32, 2 layers) and the tiny Llama: activation, training, save/load, leave_out,
 * deletion, errors, invertible adapters, stochastic depth and init options.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AdamW, AdapterHost, LmHeadSite, Module, Parallel, modelInfoFor, type SiteOwner, Stack, backward, dispose, liveTensors, loadSafetensors, manualSeed, mean, mul, noGrad, ones, randn, saveSafetensors, setBackend, tensor, tidy,
  type Tensor,
} from '@adapterkit/core';
import { TEST_BACKEND, ids, maxAbsDiff, maxAbsDiffHost, readAndDispose, readF32 } from '@adapterkit/test-utils';
import {
  BottleneckAdapter, DropPath, GlowCouplingBlock, NiceCouplingBlock, atan, invertReverse, siteAdapters,
} from '../src/index.js';
import { hiddenOf, loadTinyLlama, tinyBert } from './helpers.js';

setBackend(TEST_BACKEND);
const tmp = mkdtempSync(join(tmpdir(), 'adapterkit-bn-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const feed = { inputIds: ids([[2, 5, 7, 9, 3, 4], [6, 1, 8, 2, 4, 3]]), attentionMask: ids([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]) };
const paramNames = (m: { namedParameters(): [string, Tensor][] }): string[] => m.namedParameters().map(([k]) => k);

describe('activation', () => {
  it('a model without an active adapter gives exactly the base outputs', async () => {
    manualSeed(1);
    const m = tinyBert();
    const base = await hiddenOf(m, feed);
    m.addAdapter('a', 'seq_bn_inv');
    m.addAdapter('c', 'compacter[reduction_factor=8]');
    // Compacter's rule starts at N(0, 1e-4²): give it weight so its effect is visible.
    noGrad(() => m.getParameter('shared_parameters.c.phm_rule').assign(randn([4, 4, 4], { std: 0.5 })));
    expect(maxAbsDiffHost(await hiddenOf(m, feed), base)).toBe(0);
    for (const name of ['a', 'c']) {
      m.setActiveAdapters(name);
      expect(maxAbsDiffHost(await hiddenOf(m, feed), base), name).toBeGreaterThan(1e-4);
    }
    m.setActiveAdapters(null);
    expect(maxAbsDiffHost(await hiddenOf(m, feed), base)).toBe(0);
    m.dispose();
  });

  it('places adapters at the locations the config names, with Python parameter names', () => {
    const m = tinyBert();
    m.addAdapter('mh', 'bottleneck[mh_adapter=True, output_adapter=False, reduction_factor=4, non_linearity=None, ln_before=True, use_gating=True, scaling="channel"]');
    const names = m.adapterHost.adapterParameters('mh').map(([k]) => k).filter((k) => k.includes('layer.0.'));
    expect(names).toEqual([
      'encoder.layer.0.attention.output.adapters.mh.scaling',
      'encoder.layer.0.attention.output.adapters.mh.adapter_norm_before.weight',
      'encoder.layer.0.attention.output.adapters.mh.adapter_norm_before.bias',
      'encoder.layer.0.attention.output.adapters.mh.adapter_down.1.weight',
      'encoder.layer.0.attention.output.adapters.mh.adapter_down.1.bias',
      'encoder.layer.0.attention.output.adapters.mh.adapter_up.weight',
      'encoder.layer.0.attention.output.adapters.mh.adapter_up.bias',
      'encoder.layer.0.attention.output.adapters.mh.gate.weight',
      'encoder.layer.0.attention.output.adapters.mh.gate.bias',
    ]);
    expect(m.getParameter('encoder.layer.0.attention.output.adapters.mh.scaling').shape).toEqual([32]);
    expect(m.getParameter('encoder.layer.0.attention.output.adapters.mh.gate.weight').shape).toEqual([1, 32]);
    m.dispose();
  });

  it('a union of two bottleneck configs puts each at its own location; two Compacters in one union are refused', async () => {
    const m = tinyBert();
    m.addAdapter('u', 'seq_bn[reduction_factor=4]|bottleneck[mh_adapter=True, output_adapter=False, reduction_factor=8, non_linearity="tanh"]');
    expect(m.getParameter('encoder.layer.0.output.adapters.u.adapter_down.0.weight').shape).toEqual([8, 32]);
    expect(m.getParameter('encoder.layer.0.attention.output.adapters.u.adapter_down.0.weight').shape).toEqual([4, 32]);
    m.setActiveAdapters('u');
    expect((await hiddenOf(m, feed)).every(Number.isFinite)).toBe(true);
    expect(() => m.addAdapter('c', 'compacter[mh_adapter=False, reduction_factor=8]|compacter[output_adapter=False, reduction_factor=8]')).toThrow(/only one Compacter config per adapter/);
    expect(m.adapterHost.adapterNames()).toEqual(['u']);
    expect(m.namedParameters().some(([k]) => k.includes('shared_parameters'))).toBe(false);
    m.dispose();
  });

  it('other composition blocks are refused until a block evaluator is registered', async () => {
    const m = tinyBert();
    m.addAdapter('a', 'seq_bn');
    m.addAdapter('b', 'seq_bn');
    expect(() => m.setActiveAdapters(new Parallel('a', 'b'))).toThrow(/composition block Parallel is not supported by method 'bottleneck'.*supports: Stack/);
    m.setActiveAdapters(new Stack('a', 'b'));
    expect((await hiddenOf(m, feed)).every(Number.isFinite)).toBe(true);
    m.dispose();
  });
});

describe('memory', () => {
  it('forward and training steps with adapters return live tensors to their starting level', async () => {
    manualSeed(12);
    const m = tinyBert();
    m.addAdapter('a', 'double_seq_bn_inv');
    m.addAdapter('c', 'compacter[reduction_factor=8]');
    m.addAdapter('p', 'scaled_par_bn[use_gating=True, ln_after=True]');
    for (const setup of ['a', 'c', 'p'] as const) {
      m.setActiveAdapters(setup);
      await hiddenOf(m, feed);
      const before = liveTensors();
      await hiddenOf(m, feed);
      expect(liveTensors(), setup).toBe(before);
    }
    m.trainAdapter('c');
    const opt = new AdamW(m.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
    const step = (): void => {
      const loss = tidy(() => mean(m.forward(feed).lastHiddenState));
      backward(loss);
      opt.step();
      opt.zeroGrad();
      loss.dispose();
    };
    step();
    const before = liveTensors();
    step();
    expect(liveTensors()).toBe(before);
    m.dispose();
  });
});

describe('training', () => {
  it('trainAdapter freezes everything but the adapter, and AdamW steps change only its parameters', async () => {
    manualSeed(2);
    const m = tinyBert();
    m.addAdapter('a', 'double_seq_bn_inv');
    m.addAdapter('c', 'compacter[reduction_factor=8]');
    m.addAdapter('other', 'seq_bn');
    for (const name of ['a', 'c']) {
      m.trainAdapter(name);
      const own = new Set(m.adapterHost.adapterParameters(name).map(([k]) => k));
      const trainable = m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
      expect(new Set(trainable)).toEqual(own);
      if (name === 'a') expect([...own].some((k) => k.startsWith('invertible_adapters.a.F.0.'))).toBe(true);
      if (name === 'c') expect(own.has('shared_parameters.c.phm_rule')).toBe(true);
      const before = new Map<string, Float32Array>();
      for (const [k, p] of m.namedParameters()) before.set(k, await readF32(p));
      const opt = new AdamW(m.parameters().filter((p) => p.requiresGrad), { lr: 1e-2 });
      const target = randn([2, 6, 32], { seed: 7 });
      for (let step = 0; step < 3; step++) {
        const loss = tidy(() => mean(mul(m.forward(feed).lastHiddenState, target)));
        backward(loss);
        opt.step();
        opt.zeroGrad();
        loss.dispose();
      }
      target.dispose();
      for (const [k, p] of m.namedParameters()) {
        const changed = maxAbsDiffHost(await readF32(p), before.get(k)!) > 0;
        expect(changed, k).toBe(own.has(k));
      }
      m.freezeModel(false);
    }
    m.eval();
    m.dispose();
  });
});

describe('save and load', () => {
  const CONFIGS = [
    'seq_bn', 'double_seq_bn_inv', 'scaled_par_bn[reduction_factor=4]', 'compacter[reduction_factor=8]',
    'seq_bn[ln_before=True, ln_after=True, use_gating=True, scaling="learned", adapter_residual_before_ln=True]',
    'double_seq_bn[inv_adapter="glow", inv_adapter_reduction_factor=4, non_linearity="gelu"]',
  ];
  for (const cfg of CONFIGS) {
    it(`${cfg}: TS save → load gives identical outputs`, async () => {
      manualSeed(3);
      const m = tinyBert();
      m.addAdapter('a', cfg);
      // Random values everywhere, so zero-initialised parts take part in the check.
      noGrad(() => {
        for (const [, p] of m.adapterHost.adapterParameters('a')) p.assign(randn(p.shape, { std: 0.2 }));
      });
      m.setActiveAdapters('a');
      const out = await hiddenOf(m, feed);
      const dir = join(tmp, `rt-${CONFIGS.indexOf(cfg)}`);
      await m.saveAdapter(dir, 'a');
      const saved = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown>; name: string; model_type: string };
      expect(saved.name).toBe('a');
      expect(saved.model_type).toBe('bert');
      expect(saved.config).not.toHaveProperty('architecture');
      const file = await loadSafetensors(join(dir, 'adapter.safetensors'));
      expect(new Set(file.keys())).toEqual(new Set(m.adapterHost.adapterParameters('a').map(([k]) => k)));
      for (const t of file.values()) t.dispose();
      // Load under a short new name (the name is a substring of 'adapters': renaming must touch only the name).
      m.setActiveAdapters(null);
      expect(await m.loadAdapter(dir, { loadAs: 'd', setActive: true })).toBe('d');
      expect(maxAbsDiffHost(await hiddenOf(m, feed), out)).toBe(0);
      // And into a fresh model with the same base weights.
      const fresh = tinyBert();
      fresh.loadStateDict(new Map([...m.stateDict()].filter(([k]) => !k.includes('adapters') && !k.includes('shared_parameters'))));
      await fresh.loadAdapter(dir, { setActive: true });
      expect(maxAbsDiffHost(await hiddenOf(fresh, feed), out)).toBe(0);
      fresh.dispose();
      m.dispose();
    });
  }

  it('ln_before weights saved under adapter_down.0 (Python duplicate name) load too', async () => {
    manualSeed(4);
    const m = tinyBert();
    m.addAdapter('a', 'seq_bn[ln_before=True]');
    noGrad(() => {
      for (const [, p] of m.adapterHost.adapterParameters('a')) p.assign(randn(p.shape, { std: 0.2 }));
    });
    m.setActiveAdapters('a');
    const out = await hiddenOf(m, feed);
    const dir = join(tmp, 'ln-alias');
    await m.saveAdapter(dir, 'a');
    expect(m.adapterHost.adapterParameters('a').some(([k]) => k.endsWith('adapter_norm_before.weight'))).toBe(true);
    const file = await loadSafetensors(join(dir, 'adapter.safetensors'));
    const renamed = new Map([...file].map(([k, t]) => [k.replace('adapter_norm_before.', 'adapter_down.0.'), t]));
    await saveSafetensors(join(dir, 'adapter.safetensors'), renamed);
    for (const t of file.values()) t.dispose();
    await m.loadAdapter(dir, { loadAs: 'b', setActive: true });
    expect(maxAbsDiffHost(await hiddenOf(m, feed), out)).toBe(0);
    m.dispose();
  });

  it('an adapter saved for BERT cannot be loaded into Llama', async () => {
    const m = tinyBert();
    m.addAdapter('a', 'seq_bn');
    const dir = join(tmp, 'bert-seq');
    await m.saveAdapter(dir, 'a');
    const llama = await loadTinyLlama();
    await expect(llama.loadAdapter(dir)).rejects.toThrow(/saved for model_type 'bert', this model is 'llama'/);
    expect(llama.adapterHost.adapterNames()).toEqual([]);
    llama.dispose();
    m.dispose();
  });
});

describe('leave_out and deletion', () => {
  it('leave_out skips the listed layers', () => {
    const m = tinyBert();
    m.addAdapter('a', 'double_seq_bn[leave_out=[0]]');
    const names = m.adapterHost.adapterParameters('a').map(([k]) => k);
    expect(names.some((k) => k.startsWith('encoder.layer.0.'))).toBe(false);
    expect(names.filter((k) => k.startsWith('encoder.layer.1.'))).toHaveLength(8);
    m.dispose();
  });

  it('deleteAdapter removes every parameter (layers, invertible, shared) and restores the base outputs', async () => {
    manualSeed(5);
    const m = tinyBert();
    const baseNames = paramNames(m);
    const base = await hiddenOf(m, feed);
    m.addAdapter('a', 'double_seq_bn_inv');
    m.addAdapter('c', 'compacter[reduction_factor=8]');
    m.setActiveAdapters('a');
    expect(paramNames(m).length).toBeGreaterThan(baseNames.length);
    m.deleteAdapter('a');
    m.deleteAdapter('c');
    expect(paramNames(m)).toEqual(baseNames);
    expect(m.activeAdapters).toBeNull();
    expect(m.adapterHost.sitesOf('residual').every((s) => !siteAdapters(s)?.size)).toBe(true);
    m.setActiveAdapters(null);
    expect(maxAbsDiffHost(await hiddenOf(m, feed), base)).toBe(0);
    // The name can be reused.
    m.addAdapter('a', 'seq_bn');
    expect(m.adapterHost.adapterParameters('a')).toHaveLength(8);
    m.dispose();
  });
});

describe('invertible adapters', () => {
  it('atan matches Math.atan', async () => {
    const xs = [-1e4, -50, -5, -1.5, -1, -0.3, 0, 1e-3, 0.2, 0.9, 1, 2.5, 7, 123];
    const x = tensor(Float32Array.from(xs), [xs.length]);
    const got = await readAndDispose(noGrad(() => atan(x)));
    xs.forEach((v, i) => expect(Math.abs(got[i]! - Math.atan(v)), `atan(${v})`).toBeLessThan(2e-6));
    x.dispose();
  });

  for (const Block of [NiceCouplingBlock, GlowCouplingBlock]) {
    it(`${Block.name}: reverse inverts forward`, async () => {
      manualSeed(6);
      const block = new Block(32, 'relu', 2);
      noGrad(() => {
        for (const p of block.parameters()) p.assign(randn(p.shape, { std: 0.3 }));
      });
      const x = randn([2, 5, 32], { seed: 9 });
      const y = noGrad(() => block.forward(x));
      expect(await maxAbsDiff(y, x)).toBeGreaterThan(1e-2);
      const back = noGrad(() => block.forward(y, true));
      expect(await maxAbsDiff(back, x)).toBeLessThan(1e-5);
      for (const t of [x, y, back]) t.dispose();
      block.dispose();
    });
  }

  it('runs forward on the embeddings and reverse through invertReverse, for the first adapter of the setup', async () => {
    manualSeed(7);
    const m = tinyBert();
    m.addAdapter('lang', 'seq_bn_inv');
    m.addAdapter('task', 'seq_bn');
    expect(m.getParameter('invertible_adapters.lang.F.0.weight').shape).toEqual([8, 16]);
    const host = m.adapterHost;
    const x = randn([2, 6, 32], { seed: 3 });
    m.setActiveAdapters(new Stack('lang', 'task'));
    const block = host.root.getSubmodule('invertible_adapters.lang') as NiceCouplingBlock;
    const [rev, fwd] = noGrad(() => tidy(() => {
      const r = invertReverse(host, x);
      return [r, block.forward(r)];
    }));
    expect(await maxAbsDiff(fwd, x)).toBeLessThan(1e-5);
    dispose([rev, fwd]);
    // 'task' first: no invertible adapter runs.
    m.setActiveAdapters(new Stack('task', 'lang'));
    expect(noGrad(() => invertReverse(host, x))).toBe(x);
    m.setActiveAdapters(null);
    expect(noGrad(() => invertReverse(host, x))).toBe(x);
    x.dispose();
    m.dispose();
  });

  it('inside a model with heads: names under the base prefix, and any lm_head site runs the reverse', async () => {
    manualSeed(13);
    class Root extends Module implements SiteOwner {
      readonly lmHead = new LmHeadSite(this, -1, 'lm_head');
      readonly adapterSites = [this.lmHead];
    }
    const root = new Root();
    const bert = root.registerModule('bert', tinyBert());
    const host = new AdapterHost(root, modelInfoFor(bert, { basePrefix: 'bert', withHeads: true }));
    host.addAdapter('lang', 'seq_bn_inv');
    expect(host.adapterParameters('lang').map(([k]) => k)).toContain('bert.invertible_adapters.lang.F.0.weight');
    const x = randn([1, 3, 32], { seed: 5 });
    expect(root.lmHead.run(x)).toBe(x);
    host.setActiveAdapters('lang');
    const [viaSite, direct] = noGrad(() => [root.lmHead.run(x), invertReverse(host, x)]);
    expect(await maxAbsDiff(viaSite, direct)).toBe(0);
    expect(await maxAbsDiff(viaSite, x)).toBeGreaterThan(1e-4);
    dispose([x, viaSite, direct]);
    root.dispose();
  });

  it('GLOW blocks get Python names and shapes (s1: d1 → 2·d2, s2: d2 → 2·d1)', () => {
    const m = tinyBert();
    m.addAdapter('g', 'seq_bn[inv_adapter="glow", inv_adapter_reduction_factor=2]');
    expect(m.getParameter('invertible_adapters.g.s1.0.weight').shape).toEqual([8, 16]);
    expect(m.getParameter('invertible_adapters.g.s1.2.weight').shape).toEqual([32, 8]);
    expect(m.getParameter('invertible_adapters.g.s2.2.weight').shape).toEqual([32, 8]);
    m.dispose();
  });

  it('work on Llama too (invertible_adapters on LlamaModel)', async () => {
    const llama = await loadTinyLlama();
    llama.addAdapter('lang', 'seq_bn_inv');
    expect(llama.getParameter('invertible_adapters.lang.G.2.weight').shape).toEqual([16, 8]);
    const base = await hiddenOf(llama, { inputIds: ids([[1, 5, 9, 4]]) });
    llama.setActiveAdapters('lang');
    expect(maxAbsDiffHost(await hiddenOf(llama, { inputIds: ids([[1, 5, 9, 4]]) }), base)).toBeGreaterThan(1e-5);
    llama.dispose();
  });
});

describe('stochastic depth and dropout', () => {
  it('DropPath drops or rescales whole rows while training and is the identity in eval', async () => {
    manualSeed(8);
    const dp = new DropPath(0.5);
    const x = ones([16, 3, 4]);
    const y = await readAndDispose(noGrad(() => dp.forward(x)));
    for (let r = 0; r < 16; r++) {
      const row = Array.from(y.slice(r * 12, (r + 1) * 12));
      expect(row.every((v) => v === row[0]) && (row[0] === 0 || row[0] === 2), `row ${r}`).toBe(true);
    }
    dp.eval();
    expect(dp.forward(x)).toBe(x);
    x.dispose();
  });

  it('an adapter with stochastic_depth and dropout is deterministic in eval mode', async () => {
    manualSeed(9);
    const m = tinyBert();
    m.addAdapter('a', 'seq_bn[stochastic_depth=0.5, dropout=0.3]');
    noGrad(() => {
      for (const [, p] of m.adapterHost.adapterParameters('a')) p.assign(randn(p.shape, { std: 0.3 }));
    });
    m.setActiveAdapters('a');
    expect(maxAbsDiffHost(await hiddenOf(m, feed), await hiddenOf(m, feed))).toBe(0);
    m.dispose();
  });
});

describe('initialisation', () => {
  const weightsOf = (m: ReturnType<typeof tinyBert>, layer: number, name = 'a'): Promise<Float32Array> =>
    readF32(m.getParameter(`encoder.layer.${layer}.output.adapters.${name}.adapter_down.0.weight`));

  it('init_weights_seed gives every layer the same weights; seed 0 is a seed too (unlike Python, quirk Q7)', async () => {
    for (const seed of [0, 42]) {
      const m = tinyBert();
      m.addAdapter('a', `seq_bn[init_weights_seed=${seed}]`);
      expect(maxAbsDiffHost(await weightsOf(m, 0), await weightsOf(m, 1))).toBe(0);
      const m2 = tinyBert();
      m2.addAdapter('a', `seq_bn[init_weights_seed=${seed}]`);
      expect(maxAbsDiffHost(await weightsOf(m2, 0), await weightsOf(m, 0))).toBe(0);
      m.dispose();
      m2.dispose();
    }
    const m = tinyBert();
    m.addAdapter('a', 'seq_bn');
    expect(maxAbsDiffHost(await weightsOf(m, 0), await weightsOf(m, 1))).toBeGreaterThan(0);
    m.dispose();
  });

  it("'bert' draws N(0, 0.02²) with zero biases; 'mam_adapter' zeroes the up-projection; 'houlsby' truncates at ±0.02", async () => {
    manualSeed(10);
    const m = tinyBert();
    m.addAdapter('bert', 'seq_bn[reduction_factor=1]');
    m.addAdapter('mam', 'par_bn');
    m.addAdapter('houlsby', 'seq_bn[init_weights="houlsby", reduction_factor=1]');
    const get = (k: string): Promise<Float32Array> => readF32(m.getParameter(`encoder.layer.0.output.adapters.${k}`));
    const w = await get('bert.adapter_down.0.weight');
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    expect((await get('bert.adapter_down.0.bias')).every((v) => v === 0)).toBe(true);
    expect((await get('mam.adapter_up.weight')).every((v) => v === 0)).toBe(true);
    expect((await get('mam.adapter_up.bias')).every((v) => v === 0)).toBe(true);
    const kaiming = await get('mam.adapter_down.0.weight');
    expect(Math.max(...kaiming.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(32));
    const h = await get('houlsby.adapter_up.weight');
    expect(Math.max(...h.map(Math.abs))).toBeLessThanOrEqual(0.02);
    expect(Math.sqrt(h.reduce((s, v) => s + v * v, 0) / h.length)).toBeGreaterThan(0.005);
    m.dispose();
  });

  it('Compacter: shared rule on the base model, W init per hypercomplex_nonlinearity (quirk Q8 honoured)', async () => {
    manualSeed(11);
    const m = tinyBert();
    m.addAdapter('c', 'compacter++[reduction_factor=4, hypercomplex_nonlinearity="normal", phm_init_range=0.5]');
    expect(m.getParameter('shared_parameters.c.phm_rule').shape).toEqual([4, 4, 4]);
    expect(m.getParameter('encoder.layer.0.output.adapters.c.adapter_down.0.W_left').shape).toEqual([4, 8, 1]);
    expect(m.getParameter('encoder.layer.0.output.adapters.c.adapter_down.0.W_right').shape).toEqual([4, 1, 2]);
    const wl = await readF32(m.getParameter('encoder.layer.0.output.adapters.c.adapter_down.0.W_left'));
    const std = Math.sqrt(wl.reduce((s, v) => s + v * v, 0) / wl.length);
    expect(std).toBeGreaterThan(0.3); // N(0, 0.5²); xavier would give √(2/9) ≈ 0.47 normal or a uniform bound
    m.addAdapter('u', 'compacter++[reduction_factor=4, shared_phm_rule=False, factorized_phm_rule=True, shared_W_phm=True]');
    expect(m.getParameter('shared_parameters.u.W_down_left').shape).toEqual([4, 8, 1]);
    expect(m.getParameter('encoder.layer.0.output.adapters.u.adapter_up.phm_rule_left').shape).toEqual([4, 4, 1]);
    m.setActiveAdapters('u');
    expect((await hiddenOf(m, feed)).every(Number.isFinite)).toBe(true);
    m.dispose();
  });

  it('every layer module of an adapter is a BottleneckAdapter of the right width', () => {
    const m = tinyBert();
    m.addAdapter('a', 'double_seq_bn[reduction_factor=0.5]');
    const mods = m.namedModules().filter(([, x]) => x instanceof BottleneckAdapter).map(([, x]) => x as BottleneckAdapter);
    expect(mods).toHaveLength(4);
    expect(mods.every((x) => x.downSample === 64)).toBe(true); // rf below 1 gives an up-projection
    m.dispose();
  });
});
