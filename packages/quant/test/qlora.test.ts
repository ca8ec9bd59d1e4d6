import { describe, expect, it } from 'vitest';
import '@adapterkit/method-lora';
import { mergeAdapter } from '@adapterkit/method-lora';
import {
  AdamW, backward, checkpoint, liveTensors, manualSeed, memory, noGrad, setBackend, tidy,
  type LlamaDecoderLayer, type LlamaLayerContext, type LlamaModel, type Tensor,
} from '@adapterkit/core';
import { QuantLinear, mergeQuantizedAdapter, quantizeModel, resetQuantizedAdapter } from '../src/index.js';
import { loadTinyLlama, tinyBatch } from './helpers.js';
import { maxAbsDiff } from './fixtures.js';

setBackend('cpu-ref');

/** The QLoRA notebook's LoRA (r=64 there; 8 here for a 32-wide model) on q, k, v, intermediate and output. */
const QLORA = { architecture: 'lora', r: 8, alpha: 16, dropout: 0.1, selfattn_lora: true, intermediate_lora: true, output_lora: true, attn_matrices: ['q', 'k', 'v'] };

type Model = Awaited<ReturnType<typeof loadTinyLlama>>;

function lossOf(model: Model): Tensor {
  const { inputIds, labels } = tinyBatch();
  const out = model.forward({ inputIds, labels });
  // Only the loss is needed (backward keeps what it saved); free the other outputs and the batch.
  for (const t of [out.logits, out.lastHiddenState, inputIds, labels]) t?.dispose();
  return out.loss!;
}

/** Wraps each decoder layer's forward in core's checkpoint(), passing the rotary angles and mask as inputs so the recomputation sees them. */
function checkpointLayers(model: Model): void {
  for (const layer of (model.base as LlamaModel).layers as Iterable<LlamaDecoderLayer>) {
    const run = layer.forward.bind(layer);
    layer.forward = (hidden: Tensor, ctx: LlamaLayerContext) =>
      checkpoint((h, cos, sin, mask) => run(h, { ...ctx, angles: { cos: cos!, sin: sin! }, mask: mask! }), hidden, ctx.angles.cos, ctx.angles.sin, ctx.mask);
  }
}

async function adapterGrads(model: Model, name: string): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, p] of model.adapterHost.adapterParameters(name)) out.set(k, Float32Array.from(await p.grad!.data()));
  return out;
}

describe('QLoRA on the 4-bit tiny Llama', () => {
  it('LoRA attaches to the quantized projections and training it lowers the loss; base weights get no gradient', async () => {
    manualSeed(0);
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 4, quantType: 'nf4', doubleQuant: true });
    model.addAdapter('qlora', QLORA);
    model.trainAdapter('qlora');
    const sites = model.adapterHost.sitesOf('linear');
    expect(sites.every((s) => s.owner instanceof QuantLinear && s.owner.child('loras') !== undefined)).toBe(true);
    const params = model.adapterHost.adapterParameters('qlora').map(([, p]) => p);
    expect(params.length).toBe(2 * 5 * 2); // A and B at q, k, v, up, down in 2 layers
    const trainable = model.parameters().filter((p) => p.requiresGrad);
    const opt = new AdamW(trainable, { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 25; step++) {
      const l = lossOf(model);
      losses.push(l.dataSync()[0]!);
      backward(l);
      l.dispose();
      opt.step();
      model.zeroGrad();
    }
    for (const [, b] of model.namedBuffers()) expect(b.grad).toBeNull();
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    model.dispose();
  });

  it('a QLoRA training step returns memory to its starting level (with and without checkpointing)', async () => {
    for (const ckpt of [false, true]) {
      const model = await loadTinyLlama();
      await quantizeModel(model, { bits: 4 });
      model.addAdapter('a', QLORA);
      model.trainAdapter('a');
      if (ckpt) checkpointLayers(model);
      const opt = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
      const step = () => {
        const l = lossOf(model);
        backward(l);
        l.dispose();
        opt.step();
        model.zeroGrad();
      };
      step(); // optimizer state is created on the first step
      const bytes = memory('cpu-ref').liveBytes;
      const tensors = liveTensors();
      step();
      step();
      expect(memory('cpu-ref').liveBytes).toBe(bytes);
      expect(liveTensors()).toBe(tensors);
      model.dispose();
    }
  });

  it('gradient checkpointing gives the same gradients (LoRA dropout on: the random stream is replayed)', async () => {
    const grads: Map<string, Float32Array>[] = [];
    for (const ckpt of [false, true]) {
      manualSeed(7);
      const model = await loadTinyLlama();
      await quantizeModel(model, { bits: 4, quantType: 'nf4' });
      model.addAdapter('qlora', { ...QLORA, init_weights: 'bert' }); // B ≠ 0, so gradients reach A too
      model.trainAdapter('qlora');
      if (ckpt) checkpointLayers(model);
      manualSeed(123);
      const l = lossOf(model);
      backward(l);
      l.dispose();
      grads.push(await adapterGrads(model, 'qlora'));
      model.dispose();
    }
    const [plain, ckpt] = grads as [Map<string, Float32Array>, Map<string, Float32Array>];
    expect([...ckpt.keys()]).toEqual([...plain.keys()]);
    let worst = 0;
    let norm = 0;
    for (const [k, g] of plain) {
      worst = Math.max(worst, maxAbsDiff(g, ckpt.get(k)!));
      for (const v of g) norm = Math.max(norm, Math.abs(v));
    }
    expect(norm).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('mergeQuantizedAdapter: dequantize, merge, requantize; reports the error; reset restores exactly', async () => {
    manualSeed(3);
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 4, quantType: 'nf4', doubleQuant: true });
    model.addAdapter('m', { ...QLORA, dropout: 0, init_weights: 'bert' });
    model.setActiveAdapters('m');
    model.eval();
    const ids = tinyBatch().inputIds;
    const run = () => noGrad(() => tidy(() => model.forward({ inputIds: ids }).logits!.dataSync() as Float32Array));
    const withAdapter = run();
    const before = model.stateDict().get('model.layers.0.self_attn.q_proj.weight')!.dataSync().slice();

    expect(() => mergeAdapter(model, 'm')).toThrow(/quantized; use mergeQuantizedAdapter/);
    const report = await mergeQuantizedAdapter(model, 'm');
    expect(report.layers.length).toBe(10);
    for (const l of report.layers) {
      expect(l.maxAbsChange).toBeGreaterThan(0);
      // Requantization error of NF4: at most (largest half gap 0.1519 + double-quant slack) × the block absmax.
      expect(l.maxAbsError).toBeGreaterThan(0);
      expect(l.maxAbsError).toBeLessThan(0.2);
    }
    expect(report.maxAbsError).toBe(Math.max(...report.layers.map((l) => l.maxAbsError)));
    // The merged update is exactly s·B·A of the LoRA parameters (s = alpha / r = 2).
    const lora = model.getSubmodule('model.layers.0.self_attn.q_proj.loras.m');
    const [a, b] = ['lora_A', 'lora_B'].map((n) => lora.getParameter(n).dataSync());
    let expectedChange = 0;
    for (let o = 0; o < 32; o++) for (let i = 0; i < 32; i++) {
      let d = 0;
      for (let k = 0; k < 8; k++) d += b![o * 8 + k]! * a![k * 32 + i]!;
      expectedChange = Math.max(expectedChange, Math.abs(2 * d));
    }
    expect(Math.abs(report.layers[0]!.maxAbsChange - expectedChange)).toBeLessThanOrEqual(1e-6);
    // With the adapter merged (and skipped) the outputs move by the 4-bit requantization noise only.
    const merged = run();
    expect(maxAbsDiff(merged, withAdapter)).toBeGreaterThan(0);
    await expect(mergeQuantizedAdapter(model, 'm')).rejects.toThrow(/already merged/);

    expect(resetQuantizedAdapter(model)).toBe(10);
    expect(maxAbsDiff(model.stateDict().get('model.layers.0.self_attn.q_proj.weight')!.dataSync(), before)).toBe(0);
    expect(maxAbsDiff(run(), withAdapter)).toBe(0);
    model.dispose();
  });

  it('after merging, the model computes exactly the dense model with the requantized weights (the merged adapter is skipped)', async () => {
    manualSeed(3);
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 8 });
    model.addAdapter('m', { ...QLORA, dropout: 0, init_weights: 'bert' });
    model.setActiveAdapters('m');
    model.eval();
    const ids = tinyBatch().inputIds;
    const run = (m: Model) => noGrad(() => tidy(() => m.forward({ inputIds: ids }).logits!.dataSync() as Float32Array));
    const unmerged = run(model);
    const report = await mergeQuantizedAdapter(model, 'm');
    expect(report.maxAbsError).toBeLessThan(0.01); // int8: ≤ row absmax / 254, absmax ≤ 1.3 in this model
    const merged = run(model);
    // Reference: the dense model with every projection set to the merged layer's dequantized weight, no adapters.
    const dense = await loadTinyLlama();
    noGrad(() => {
      for (const [name, m] of model.namedModules()) {
        if (!(m instanceof QuantLinear)) continue;
        const w = m.dequantizeWeight();
        dense.getParameter(`${name}.weight`).assign(w);
        w.dispose();
      }
    });
    dense.eval();
    expect(maxAbsDiff(merged, run(dense))).toBeLessThanOrEqual(1e-4);
    // and it differs from the unmerged model only by the requantization noise (logits here are up to ~18 in magnitude)
    expect(maxAbsDiff(merged, unmerged)).toBeLessThan(1);
    model.dispose();
    dense.dispose();
  });

  it('merging a zero update: NF4 without double quant requantizes to the same codes (error 0); int8 to within an ulp', async () => {
    // NF4/FP4 contain ±1, so the block absmax of dequantized values is the old absmax and every value maps back to its code.
    for (const [fmt, bound] of [[{ bits: 4 as const, doubleQuant: false }, 0], [{ bits: 8 as const }, 1e-6]] as const) {
      const model = await loadTinyLlama();
      await quantizeModel(model, fmt);
      model.addAdapter('z', { ...QLORA, dropout: 0 }); // default init: B = 0, so ΔW = 0
      model.eval();
      const r = await mergeQuantizedAdapter(model, 'z');
      for (const l of r.layers) {
        expect(l.maxAbsChange).toBe(0);
        expect(l.maxAbsError).toBeLessThanOrEqual(bound);
      }
      model.dispose();
    }
  });

  it('rejects DoRA on quantized projections', async () => {
    const model = await loadTinyLlama();
    await quantizeModel(model, { bits: 4 });
    expect(() => model.addAdapter('d', 'dora')).toThrow(/DoRA needs the dense base weight/);
    model.dispose();
  });
});
