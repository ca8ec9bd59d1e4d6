/**
 * Behaviour of the LoRA family on the tiny random BERT: placement and names,
 * initialisation, the forward formula, Stack semantics, dropout, training,
 * save/load round trip, delete, unions.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW, Stack, add, backward, concat, dispose, linear, liveTensors, mul, noGrad, randn, setBackend, sum, tidy,
  type AdaptableLinear, type AdapterModelApi, type BertModel, type Tensor,
} from '@adapterkit/core';
import { TEST_BACKEND, ids, maxAbsDiff, maxAbsDiffHost, readF32 } from '@adapterkit/test-utils';
import { HOOK_KEY, IA3, LoRA, layerOf, loraLayers, mergeAdapter, resetAdapter, setLoRASemantics } from '../src/index.js';
import { TINY_INPUTS, bertHidden, loadTinyBert, randomiseAdapter } from './helpers.js';

let model: BertModel & AdapterModelApi;
let base: Float32Array;
const tmp = mkdtempSync(join(tmpdir(), 'adapterkit-lora-'));

beforeAll(async () => {
  setBackend(TEST_BACKEND);
  model = await loadTinyBert();
  base = await bertHidden(model, TINY_INPUTS);
});
afterAll(() => {
  model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const query = (layer = 0): AdaptableLinear => model.getSubmodule(`encoder.layer.${layer}.attention.self.query`) as AdaptableLinear;
const shapes = (name: string): Record<string, number[]> => Object.fromEntries(model.adapterHost.adapterParameters(name).map(([k, p]) => [k, [...p.shape]]));

describe('placement and names', () => {
  it('lora (q, v) names its weights as Python: …query.loras.<name>.lora_A [r, in], lora_B [out, r]', () => {
    model.addAdapter('x', 'lora');
    expect(shapes('x')).toEqual({
      'encoder.layer.0.attention.self.query.loras.x.lora_A': [8, 32],
      'encoder.layer.0.attention.self.query.loras.x.lora_B': [32, 8],
      'encoder.layer.0.attention.self.value.loras.x.lora_A': [8, 32],
      'encoder.layer.0.attention.self.value.loras.x.lora_B': [32, 8],
      'encoder.layer.1.attention.self.query.loras.x.lora_A': [8, 32],
      'encoder.layer.1.attention.self.query.loras.x.lora_B': [32, 8],
      'encoder.layer.1.attention.self.value.loras.x.lora_A': [8, 32],
      'encoder.layer.1.attention.self.value.loras.x.lora_B': [32, 8],
    });
    model.deleteAdapter('x');
  });

  it('ia3: lora_B [out, 1] on key, value and intermediate.dense; leave_out skips layers', () => {
    model.addAdapter('i', 'ia3[leave_out=[1]]');
    expect(shapes('i')).toEqual({
      'encoder.layer.0.attention.self.key.loras.i.lora_B': [32, 1],
      'encoder.layer.0.attention.self.value.loras.i.lora_B': [32, 1],
      'encoder.layer.0.intermediate.dense.loras.i.lora_B': [37, 1],
    });
    model.deleteAdapter('i');
  });

  it('q,k,v + intermediate + output, gating and DoRA add gate.{weight,bias} and m.weight', () => {
    model.addAdapter('f', "lora[r=2, attn_matrices=['q','k','v'], intermediate_lora=True, output_lora=True, use_gating=True, use_dora=True, leave_out=[0]]");
    const s = shapes('f');
    expect(Object.keys(s).map((k) => k.replace(/^encoder\.layer\.1\./, '').replace(/\.loras\.f\./, ' '))).toEqual([
      ...['attention.self.query', 'attention.self.key', 'attention.self.value', 'intermediate.dense', 'output.dense']
        .flatMap((p) => [`${p} lora_A`, `${p} lora_B`, `${p} m.weight`, `${p} gate.weight`, `${p} gate.bias`]),
    ]);
    expect(s['encoder.layer.1.intermediate.dense.loras.f.lora_B']).toEqual([37, 2]);
    expect(s['encoder.layer.1.output.dense.loras.f.m.weight']).toEqual([32, 1]);
    expect(s['encoder.layer.1.output.dense.loras.f.gate.weight']).toEqual([1, 37]);
    model.deleteAdapter('f');
  });

  it('deleteAdapter removes modules and hooks; the state dict and outputs are as before', async () => {
    const keys = [...model.stateDict().keys()];
    model.addAdapter('d', 'lora[intermediate_lora=True]');
    model.addAdapter('e', 'ia3');
    randomiseAdapter(model, 'd', 1);
    model.setActiveAdapters('d');
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBeGreaterThan(1e-3);
    model.deleteAdapter('d');
    expect(model.activeAdapters).toBeNull();
    expect(model.adapterHost.adapterParameters('d')).toEqual([]);
    expect(layerOf(query().site)).toBeUndefined(); // 'e' is not on query: its loras dict is gone
    expect(query().site.hookOf(HOOK_KEY)).toBeUndefined();
    expect(layerOf((model.getSubmodule('encoder.layer.0.attention.self.key') as AdaptableLinear).site)?.keys()).toEqual(['e']);
    model.deleteAdapter('e');
    model.deleteAdapter('e'); // unknown names are a no-op
    expect([...model.stateDict().keys()]).toEqual(keys);
    expect(loraLayers(model.adapterHost)).toEqual([]);
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
  });

  it('a union separated by leave_out puts each member on its layers; overlapping members are an error', () => {
    model.addAdapter('u', 'lora[leave_out=[0]]|ia3[leave_out=[1]]');
    const s = shapes('u');
    expect(Object.keys(s).filter((k) => k.startsWith('encoder.layer.0.')).every((k) => k.endsWith('lora_B') && s[k]![1] === 1)).toBe(true);
    expect(Object.keys(s).filter((k) => k.startsWith('encoder.layer.1.')).some((k) => k.endsWith('lora_A'))).toBe(true);
    model.deleteAdapter('u');
    expect(() => model.addAdapter('c', 'lora[leave_out=[0]]|ia3')).toThrow(/multiple LoRA definitions conflict at layer 1 selfattn.v/);
    expect(model.adapterHost.adapterNames()).toEqual([]);
    expect(loraLayers(model.adapterHost)).toEqual([]);
  });
});

describe('initialisation and forward', () => {
  it('no active adapter gives exactly the base outputs; default inits are the identity', async () => {
    model.addAdapter('l', 'lora');
    model.addAdapter('i', 'ia3');
    model.addAdapter('d', 'dora');
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
    model.setActiveAdapters('l'); // B = 0
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
    model.setActiveAdapters('i'); // ones, alpha 1
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBe(0);
    model.setActiveAdapters('d'); // m = ‖W0‖, B = 0 (only rounding of (y − b)·1 + b)
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), base)).toBeLessThan(1e-6);
    const a = layerOf(query().site)!.get('l') as LoRA;
    const bound = 1 / Math.sqrt(32); // kaiming_uniform(a=√5) on [r, in]
    const maxA = Math.max(...Array.from(await readF32(a.loraA), Math.abs));
    expect(maxA).toBeLessThanOrEqual(bound);
    expect(maxA).toBeGreaterThan(bound * 0.8);
    for (const n of ['l', 'i', 'd']) model.deleteAdapter(n);
  });

  it('init_weights_seed gives every module the same values; without it they differ', async () => {
    model.addAdapter('s1', "lora[init_weights='bert', init_weights_seed=0]");
    model.addAdapter('s2', "lora[init_weights='bert', init_weights_seed=0]");
    model.addAdapter('n', "lora[init_weights='bert']");
    const A = async (name: string, layer: number): Promise<number[]> => Array.from(await readF32((layerOf(query(layer).site)!.get(name) as LoRA).loraA));
    const B = async (name: string, layer: number): Promise<number[]> => Array.from(await readF32((layerOf(query(layer).site)!.get(name) as LoRA).loraB));
    expect(await A('s1', 0)).toEqual(await A('s2', 1));
    expect(await A('s1', 0)).not.toEqual((await B('s1', 0)).slice(0, 256)); // A and B use different streams
    expect(await A('n', 0)).not.toEqual(await A('n', 1));
    const std = Math.sqrt((await A('n', 0)).reduce((s, v) => s + v * v, 0) / 256);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    for (const n of ['s1', 's2', 'n']) model.deleteAdapter(n);
  });

  it('a projection computes W x + b + (alpha/r)·x Aᵀ Bᵀ; (IA)³ (W x + b) ⊙ l·alpha', async () => {
    model.addAdapter('l', 'lora[r=4, alpha=10]');
    model.addAdapter('i', "ia3[alpha=3, attn_matrices=['q']]");
    randomiseAdapter(model, 'l', 2);
    randomiseAdapter(model, 'i', 3);
    const q = query();
    const lora = layerOf(q.site)!.get('l') as LoRA;
    const ia3 = layerOf(q.site)!.get('i') as IA3;
    // [got, want] pairs computed in one tidy, compared after it (reads are asynchronous).
    const pairs = noGrad(() => tidy(() => {
      const x = randn([2, 3, 32], { seed: 5 });
      const y0 = linear(x, q.weight, q.bias);
      model.setActiveAdapters('l');
      const withLora = [q.forward(x), add(y0, mul(linear(linear(x, lora.loraA), lora.loraB), 10 / 4))];
      model.setActiveAdapters('i');
      const withIa3 = [q.forward(x), mul(y0, mul(ia3.vector('f32'), 3))];
      model.setActiveAdapters(null);
      return { lora: withLora, ia3: withIa3, none: [q.forward(x), y0] };
    }));
    expect(await maxAbsDiff(pairs.lora[0]!, pairs.lora[1]!)).toBeLessThan(1e-6);
    expect(await maxAbsDiff(pairs.ia3[0]!, pairs.ia3[1]!)).toBeLessThan(1e-6);
    expect(await maxAbsDiff(pairs.none[0]!, pairs.none[1]!)).toBe(0);
    dispose(pairs);
    model.deleteAdapter('l');
    model.deleteAdapter('i');
  });

  it("dtype stores A/B (and (IA)³ scales) in that dtype; compute follows the activations", async () => {
    model.addAdapter('h', "lora[dtype='bfloat16', init_weights='bert', intermediate_lora=True]");
    model.addAdapter('hi', "ia3[dtype='float16']");
    expect(new Set(model.adapterHost.adapterParameters('h').map(([, p]) => p.dtype))).toEqual(new Set(['bf16']));
    expect(new Set(model.adapterHost.adapterParameters('hi').map(([, p]) => p.dtype))).toEqual(new Set(['f16']));
    model.setActiveAdapters('h');
    const out = await bertHidden(model, TINY_INPUTS);
    expect(maxAbsDiffHost(out, base)).toBeGreaterThan(1e-5);
    mergeAdapter(model, 'h');
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), out)).toBeLessThan(1e-5);
    resetAdapter(model);
    model.deleteAdapter('h');
    model.deleteAdapter('hi');
  });

  it('dropout is active in training mode only', async () => {
    model.addAdapter('p', 'lora[dropout=0.5]');
    randomiseAdapter(model, 'p', 4);
    model.setActiveAdapters('p');
    const evalOut = await bertHidden(model, TINY_INPUTS);
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), evalOut)).toBe(0);
    // Only the adapter trains here (base dropout off), so differences come from LoRA dropout.
    for (const l of loraLayers(model.adapterHost)) l.get('p')!.train();
    const a = await bertHidden(model, TINY_INPUTS);
    const b = await bertHidden(model, TINY_INPUTS);
    expect(maxAbsDiffHost(a, b)).toBeGreaterThan(1e-4);
    model.deleteAdapter('p');
  });
});

describe('Stack', () => {
  it('adapterkit semantics: stacked LoRA deltas add up (equal to one LoRA of concatenated rank)', async () => {
    model.addAdapter('a', 'lora[r=2, alpha=6]');
    model.addAdapter('b', "lora[r=3, alpha=1, attn_matrices=['q','k']]");
    model.addAdapter('c', "lora[r=5, alpha=5, attn_matrices=['q','k','v']]"); // s = 1
    randomiseAdapter(model, 'a', 6);
    randomiseAdapter(model, 'b', 7);
    noGrad(() => {
      for (const l of loraLayers(model.adapterHost)) {
        const [a, b, c] = ['a', 'b', 'c'].map((n) => l.get(n) as LoRA | undefined);
        // c = [A_a; A_b], [s_a B_a, s_b B_b]; zero blocks where a or b is absent.
        tidy(() => {
          const zA = (r: number): Tensor => mul(randn([r, c!.inFeatures], { seed: 1 }), 0);
          const zB = (r: number): Tensor => mul(randn([c!.outFeatures, r], { seed: 1 }), 0);
          c!.loraA.assign(concat([a ? a.loraA : zA(2), b ? b.loraA : zA(3)], 0));
          c!.loraB.assign(concat([a ? mul(a.loraB, 3) : zB(2), b ? mul(b.loraB, 1 / 3) : zB(3)], 1));
        });
      }
    });
    model.setActiveAdapters(new Stack('a', 'b'));
    const stacked = await bertHidden(model, TINY_INPUTS);
    model.setActiveAdapters('c');
    expect(maxAbsDiffHost(stacked, await bertHidden(model, TINY_INPUTS))).toBeLessThan(1e-5);
    // Python semantics chain them instead (quirk Q11): a different result.
    setLoRASemantics(model, 'python');
    model.setActiveAdapters(new Stack('a', 'b'));
    expect(maxAbsDiffHost(stacked, await bertHidden(model, TINY_INPUTS))).toBeGreaterThan(1e-3);
    setLoRASemantics(model, 'adapterkit');
    for (const n of ['a', 'b', 'c']) model.deleteAdapter(n);
  });

  it('stacked (IA)³ scales multiply, in both semantics', async () => {
    model.addAdapter('i1', 'ia3[alpha=2]');
    model.addAdapter('i2', 'ia3');
    model.addAdapter('i3', 'ia3');
    for (const [k, n] of ['i1', 'i2'].entries()) randomiseAdapter(model, n, 8 + k);
    noGrad(() => {
      for (const l of loraLayers(model.adapterHost)) {
        const [a, b, c] = ['i1', 'i2', 'i3'].map((n) => l.get(n) as IA3);
        tidy(() => void c!.loraB.assign(mul(mul(a!.loraB, b!.loraB), 2)));
      }
    });
    model.setActiveAdapters('i3');
    const product = await bertHidden(model, TINY_INPUTS);
    model.setActiveAdapters(new Stack('i1', 'i2'));
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), product)).toBeLessThan(1e-5);
    setLoRASemantics(model, 'python');
    expect(maxAbsDiffHost(await bertHidden(model, TINY_INPUTS), product)).toBeLessThan(1e-5);
    setLoRASemantics(model, 'adapterkit');
    for (const n of ['i1', 'i2', 'i3']) model.deleteAdapter(n);
  });

  it('a DoRA adapter cannot share a projection with other adapters of a Stack (adapterkit semantics)', async () => {
    model.addAdapter('d', 'dora');
    model.addAdapter('l', 'lora');
    model.setActiveAdapters(new Stack('d', 'l'));
    await expect(bertHidden(model, TINY_INPUTS)).rejects.toThrow(/layer 0 selfattn.q.*DoRA adapter 'd' cannot be composed with other adapters/);
    model.deleteAdapter('d');
    model.deleteAdapter('l');
  });
});

describe('training and files', () => {
  it('trainAdapter trains only that adapter: a few AdamW steps change exactly its parameters', async () => {
    model.addAdapter('t', "lora[r=4, dropout=0.1, attn_matrices=['q','k','v'], output_lora=True]");
    model.addAdapter('other', 'ia3');
    model.trainAdapter('t');
    const params = model.namedParameters();
    const trainable = params.filter(([, p]) => p.requiresGrad).map(([k]) => k);
    expect(trainable.sort()).toEqual(model.adapterHost.adapterParameters('t').map(([k]) => k).sort());
    const before = new Map<string, Float32Array>();
    for (const [k, p] of params) before.set(k, await readF32(p));
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const target = randn([2, 7, 32], { seed: 9 });
    const live: number[] = [];
    for (let step = 0; step < 3; step++) {
      tidy(() => {
        const out = model.forward({ inputIds: ids(TINY_INPUTS.input_ids), attentionMask: ids(TINY_INPUTS.attention_mask), tokenTypeIds: ids(TINY_INPUTS.token_type_ids) });
        backward(sum(mul(out.lastHiddenState, target)));
      });
      opt.step();
      opt.zeroGrad();
      live.push(liveTensors());
    }
    // After the first step (optimizer state created) a step returns memory to its starting level.
    expect(live[2]).toBe(live[1]);
    for (const [k, p] of params) {
      const changed = maxAbsDiffHost(await readF32(p), before.get(k)!) > 0;
      expect(changed, k).toBe(trainable.includes(k));
    }
    target.dispose();
    model.freezeModel(false);
    model.eval();
    model.deleteAdapter('t');
    model.deleteAdapter('other');
  });

  it('save → load round trip (TS): same config, names and outputs', async () => {
    const config = "lora[r=3, alpha=7, attn_matrices=['k','v'], intermediate_lora=True, use_gating=True, dropout=0.2]";
    model.addAdapter('rt', config);
    model.addAdapter('rt_ia3', 'ia3[output_lora=True]');
    model.addAdapter('rt_dora', 'dora[r=2]');
    for (const [i, n] of ['rt', 'rt_ia3', 'rt_dora'].entries()) randomiseAdapter(model, n, 40 + i);
    const outs = new Map<string, Float32Array>();
    for (const n of ['rt', 'rt_ia3', 'rt_dora']) {
      model.setActiveAdapters(n);
      outs.set(n, await bertHidden(model, TINY_INPUTS));
      await model.saveAdapter(join(tmp, n), n);
    }
    const saved = JSON.parse(readFileSync(join(tmp, 'rt', 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown>; name: string };
    expect(saved.name).toBe('rt');
    expect(saved.config).toMatchObject({ architecture: 'lora', r: 3, alpha: 7, attn_matrices: ['k', 'v'], use_gating: true, dropout: 0.2 });
    expect(readFileSync(join(tmp, 'rt_ia3', 'adapter_config.json'), 'utf8')).toContain('"dropout": 0.0');

    const other = await loadTinyBert();
    for (const n of ['rt', 'rt_ia3', 'rt_dora']) {
      const loaded = await other.loadAdapter(join(tmp, n), { setActive: true, loadAs: `${n}_copy` });
      expect(loaded).toBe(`${n}_copy`);
      expect(other.adapterHost.adapterParameters(loaded).map(([k]) => k.replace(`${n}_copy`, n)))
        .toEqual(model.adapterHost.adapterParameters(n).map(([k]) => k));
      expect(maxAbsDiffHost(await bertHidden(other, TINY_INPUTS), outs.get(n)!)).toBe(0);
    }
    other.dispose();
    for (const n of ['rt', 'rt_ia3', 'rt_dora']) model.deleteAdapter(n);
  });

  it('forward, merge and reset leave no tensors behind', async () => {
    model.addAdapter('m1', "lora[r=2, intermediate_lora=True, use_gating=True]");
    model.addAdapter('m2', 'ia3');
    model.addAdapter('m3', 'dora[r=2]');
    randomiseAdapter(model, 'm1', 50);
    model.setActiveAdapters(new Stack('m1', 'm2'));
    await bertHidden(model, TINY_INPUTS); // warm-up (lazy buffers)
    const live = liveTensors();
    await bertHidden(model, TINY_INPUTS);
    model.setActiveAdapters('m3');
    await bertHidden(model, TINY_INPUTS);
    mergeAdapter(model, 'm3');
    resetAdapter(model);
    mergeAdapter(model, 'm2', { keepOriginal: false });
    resetAdapter(model);
    expect(liveTensors()).toBe(live);
    for (const n of ['m1', 'm2', 'm3']) model.deleteAdapter(n);
  });

  it('counts adapter parameters in the summary', () => {
    model.addAdapter('x', 'lora');
    model.addAdapter('y', 'ia3');
    const rows = model.adapterSummaryRows();
    expect(rows.map((r) => [r.name, r.architecture, r.numParams])).toEqual([
      ['x', 'lora', 2 * 2 * (8 * 32 + 32 * 8)],
      ['y', 'lora', 2 * (32 + 32 + 37)],
      ['Full model', '', rows.at(-1)!.numParams],
    ]);
    model.deleteAdapter('x');
    model.deleteAdapter('y');
  });
});
