import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdaptableLinear, Linear, noGrad, setBackend, tensor, tidy, type Tensor } from '@adapterkit/core';
import {
  QuantLinear, dequantizeMatrix, formatMemoryReport, loadQuantized, memoryReport, packQuantState, quantLinearFromBnb,
  quantizeMatrix, quantizeModel, quantizedLayers, saveQuantized, unpackQuantState,
} from '../src/index.js';
import { BNB_DIR, maxAbsDiff } from './fixtures.js';
import { loadTinyLlama, tinyBatch } from './helpers.js';
import { loadSafetensors } from '@adapterkit/core';

setBackend('cpu-ref');

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function logits(model: Awaited<ReturnType<typeof loadTinyLlama>>): Float32Array {
  return noGrad(() =>
    tidy(() => {
      const { inputIds } = tinyBatch();
      return model.forward({ inputIds }).logits!.dataSync() as Float32Array;
    }),
  );
}

/** Replaces every quantizable Linear's weight by dequant(quant(W)) in a dense model (the reference a quantized model must equal). */
async function fakeQuantize(model: Awaited<ReturnType<typeof loadTinyLlama>>, fmt: Parameters<typeof quantizeMatrix>[2]): Promise<void> {
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear) || name.startsWith('heads')) continue;
    const [o, i] = m.weight.shape as [number, number];
    const deq = dequantizeMatrix(quantizeMatrix((await m.weight.data()) as Float32Array, [o, i], fmt));
    noGrad(() => tidy(() => void m.weight.assign(tensor(deq, [o, i]))));
  }
}

describe('quantizeModel on the tiny Llama', () => {
  for (const fmt of [{ bits: 4 as const, quantType: 'nf4' as const, doubleQuant: true }, { bits: 4 as const, quantType: 'fp4' as const, doubleQuant: false }, { bits: 8 as const }]) {
    it(`${fmt.bits === 8 ? 'int8' : fmt.quantType}: replaces the 14 projections in place; logits = dense model with dequantized weights (≤ 1e-4)`, async () => {
      const model = await loadTinyLlama();
      const sitesBefore = model.adapterHost.sitesOf('linear').length;
      const report = await quantizeModel(model, fmt);
      expect(report.layers.map((l) => l.name)).toEqual([
        'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.k_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.self_attn.o_proj',
        'model.layers.0.mlp.gate_proj', 'model.layers.0.mlp.up_proj', 'model.layers.0.mlp.down_proj',
        'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.k_proj', 'model.layers.1.self_attn.v_proj', 'model.layers.1.self_attn.o_proj',
        'model.layers.1.mlp.gate_proj', 'model.layers.1.mlp.up_proj', 'model.layers.1.mlp.down_proj',
      ]);
      // The LM head (an LMDecoder, not a Linear) is untouched: f32.
      expect(report.skipped).toEqual([]);
      expect(model.stateDict().get('heads.default.0.weight')!.dtype).toBe('f32');
      // Insertion points survive: same count, now owned by QuantLinear, with the same keys.
      const sites = model.adapterHost.sitesOf('linear');
      expect(sites.length).toBe(sitesBefore);
      expect(sites.every((s) => s.owner instanceof QuantLinear && s.host === model.adapterHost)).toBe(true);
      expect(sites.map((s) => `${s.layer}${s.location}${s.key ?? ''}`).slice(0, 5)).toEqual(['0selfattnq', '0selfattnk', '0selfattnv', '0intermediate', '0output']);
      // Typed fields follow the registry: the model calls the QuantLinear.
      const attn = model.getSubmodule('model.layers.0.self_attn') as unknown as { q_proj: unknown; o_proj: unknown };
      expect(attn.q_proj).toBeInstanceOf(QuantLinear);
      expect(attn.o_proj).toBeInstanceOf(QuantLinear);
      expect(model.getSubmodule('model.layers.0.self_attn.o_proj')).not.toBeInstanceOf(AdaptableLinear);
      const state = model.stateDict();
      expect(state.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe(fmt.bits === 4 ? 'u8' : 'i8');
      const quantized = logits(model);

      const dense = await loadTinyLlama();
      await fakeQuantize(dense, fmt);
      const ref = logits(dense);
      const d = maxAbsDiff(quantized, ref);
      expect(d).toBeLessThanOrEqual(1e-4);
      model.dispose();
      dense.dispose();
    });
  }

  it('refuses a projection that already has LoRA modules', async () => {
    const model = await loadTinyLlama();
    const q = model.getSubmodule('model.layers.0.self_attn.q_proj');
    q.registerModule('loras', new Linear(1, 1));
    await expect(quantizeModel(model, { bits: 4 })).rejects.toThrow(/'model\.layers\.0\.self_attn\.q_proj' already has adapter modules \(loras\)/);
    model.dispose();
  });

  it('honours the skip list (whole name segments) and keeps tied weights dense', async () => {
    const model = await loadTinyLlama();
    const report = await quantizeModel(model, { bits: 4, skip: ['mlp.down_proj', 'layers.1.self_attn'] });
    expect(report.layers.map((l) => l.name)).toEqual([
      'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.k_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.self_attn.o_proj',
      'model.layers.0.mlp.gate_proj', 'model.layers.0.mlp.up_proj', 'model.layers.1.mlp.gate_proj', 'model.layers.1.mlp.up_proj',
    ]);
    expect(report.skipped.map((s) => s.name)).toContain('model.layers.1.self_attn.q_proj');
    model.dispose();

    const { Module } = await import('@adapterkit/core');
    const root = new Module();
    const a = root.registerModule('a', new Linear(8, 8));
    const b = root.registerModule('b', new Linear(8, 8));
    b.registerParameter('weight', a.weight);
    (b as unknown as { weight: unknown }).weight = a.weight;
    const c = root.registerModule('c', new Linear(8, 8));
    const r = await quantizeModel(root, { bits: 4 });
    expect(r.layers.map((l) => l.name)).toEqual(['c']);
    expect(r.skipped).toEqual([{ name: 'a', reason: 'weight tied to another module' }, { name: 'b', reason: 'weight tied to another module' }]);
    expect(root.child('c')).toBeInstanceOf(QuantLinear);
    expect(c.weight.isDisposed).toBe(true);
    root.dispose();
  });
});

describe('memory accounting', () => {
  it('4-bit codes take exactly 0.5 bytes per parameter; scales 1/64 (+ nested) with double quantization', async () => {
    const model = await loadTinyLlama();
    const before = memoryReport(model);
    await quantizeModel(model, { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true });
    const r = memoryReport(model);
    expect(r.totals.codeBytesPerParam).toBe(0.5);
    const q = r.quantized.find((l) => l.name === 'model.layers.0.mlp.up_proj')!; // [64, 32] = 2048 values = 32 blocks
    expect(q.params).toBe(2048);
    expect(q.codeBytes).toBe(1024);
    expect(q.scaleBytes).toBe(32 + 4); // u8 absmax per block + one f32 nested scale
    expect(q.tableBytes).toBe(16 * 4 + 256 * 4);
    const codes = r.tensors.find((t) => t.name === 'model.layers.0.mlp.up_proj.weight')!;
    expect(codes).toMatchObject({ kind: 'buffer', role: 'quant-codes', dtype: 'u8', bytes: 1024, params: 2048, bytesPerParam: 0.5 });
    // Unquantized equivalent equals the dense model's size (same f32 weights, same other tensors).
    expect(r.totals.unquantizedF32Bytes).toBe(before.totals.bytes);
    expect(r.totals.bytes).toBeLessThan(before.totals.bytes);
    expect(formatMemoryReport(r)).toMatch(/B\/param/);
    model.dispose();
  });

  it('a Llama-sized projection (4096×4096) is ~0.5 B/param + scales: ≤ 0.517 with double quant, 0.5625 without', () => {
    // Sizes from the format alone (no tensors): codes n/2, u8 absmax n/64, f32 nested n/64/256, tables 1088 B.
    const n = 4096 * 4096;
    const dq = (n / 2 + n / 64 + Math.ceil(n / 64 / 256) * 4 + 1088) / n;
    const plain = (n / 2 + (n / 64) * 4 + 64) / n;
    expect(dq).toBeLessThanOrEqual(0.517);
    expect(plain).toBeCloseTo(0.5625, 4);
    // And the host quantization agrees with that arithmetic on a real matrix of 256×1024.
    const m = quantizeMatrix(new Float32Array(256 * 1024).map((_, i) => Math.sin(i)), [256, 1024], { bits: 4 });
    if (m.bits !== 4) throw new Error('expected 4-bit');
    expect(m.packed.byteLength + m.nested!.codes.byteLength + m.nested!.absmax.byteLength).toBe(131072 + 4096 + 64);
  });
});

describe('saving and loading quantized models', () => {
  it('saveQuantized → loadQuantized into a fresh dense model reproduces the logits exactly', async () => {
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 4, quantType: 'nf4', doubleQuant: true });
    const expected = logits(model);
    const dir = await mkdtemp(join(tmpdir(), 'adapterkit-quant-'));
    dirs.push(dir);
    await saveQuantized(model, dir);
    const config = JSON.parse(await readFile(join(dir, 'quant_config.json'), 'utf8'));
    expect(config.layers['model.layers.1.mlp.down_proj']).toMatchObject({ bits: 4, shape: [32, 64], quant_type: 'nf4', block_size: 64, double_quant: true, nested_block_size: 256 });
    const file = await loadSafetensors(join(dir, 'model.safetensors'));
    const keys = [...file.keys()].filter((k) => k.startsWith('model.layers.0.self_attn.q_proj.')).sort();
    expect(keys).toEqual([
      'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.q_proj.weight.absmax', 'model.layers.0.self_attn.q_proj.weight.nested_absmax',
      'model.layers.0.self_attn.q_proj.weight.nested_quant_map', 'model.layers.0.self_attn.q_proj.weight.quant_map',
      'model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4',
    ]);
    const qs = unpackQuantState(file.get('model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4')!.dataSync() as Uint8Array, 'test');
    expect(qs).toMatchObject({ quant_type: 'nf4', blocksize: 64, dtype: 'float32', shape: [32, 32], nested_blocksize: 256, nested_dtype: 'float32' });
    for (const t of file.values()) t.dispose();

    const fresh = await loadTinyLlama();
    await loadQuantized(fresh, dir);
    expect(quantizedLayers(fresh).length).toBe(14);
    expect(fresh.adapterHost.sitesOf('linear').every((s) => s.owner instanceof QuantLinear)).toBe(true);
    expect(maxAbsDiff(logits(fresh), expected)).toBe(0);
    model.dispose();
    fresh.dispose();
  });

  it('int8 layers save as weight + SCB + weight_format and load back', async () => {
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 8 });
    const expected = logits(model);
    const dir = await mkdtemp(join(tmpdir(), 'adapterkit-quant-'));
    dirs.push(dir);
    await saveQuantized(model, dir);
    const file = await loadSafetensors(join(dir, 'model.safetensors'));
    expect(file.get('model.layers.0.mlp.up_proj.SCB')!.shape).toEqual([64]);
    expect(file.get('model.layers.0.mlp.up_proj.weight')!.dtype).toBe('i8');
    expect([...file.get('model.layers.0.mlp.up_proj.weight_format')!.dataSync()]).toEqual([0]);
    for (const t of file.values()) t.dispose();
    const fresh = await loadTinyLlama();
    await loadQuantized(fresh, dir);
    expect(maxAbsDiff(logits(fresh), expected)).toBe(0);
    model.dispose();
    fresh.dispose();
  });
});

describe('bitsandbytes Linear4bit interop (fixture linear4bit.safetensors)', () => {
  it('a Linear4bit state dict (nf4, double quant) loads as a QuantLinear whose output matches bnb’s (≤ 1e-5)', async () => {
    const dict = await loadSafetensors(join(BNB_DIR, 'linear4bit.safetensors'));
    const x = dict.get('x')!;
    const y = dict.get('y')!;
    const stateBytes = dict.get('weight.quant_state.bitsandbytes__nf4')!.dataSync() as Uint8Array;
    const layer = await quantLinearFromBnb(dict);
    expect([layer.outFeatures, layer.inFeatures]).toEqual([40, 96]);
    const out = noGrad(() => layer.forward(x));
    const d = maxAbsDiff(out.dataSync(), y.dataSync());
    expect(d).toBeLessThanOrEqual(1e-5);
    // Our serialisation of the quant state is byte-identical to bitsandbytes'.
    const fields = unpackQuantState(stateBytes, 'fixture');
    expect(new TextDecoder().decode(packQuantState(fields))).toBe(new TextDecoder().decode(stateBytes));
    for (const t of [out, x, y, dict.get('weight.quant_state.bitsandbytes__nf4')!] as Tensor[]) t.dispose();
    layer.dispose();
  });
});
