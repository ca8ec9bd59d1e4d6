import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveTensors, mul, noGrad } from '@adapterkit/core';
import { AdapterTrainer, NonFiniteError, decayParameterNames, type TrainingArguments } from '../src/index.js';
import { cleanupTinyCopies, sst2Features, tinyModel, trainableSnapshot } from './helpers/tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-steps-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  cleanupTinyCopies();
});
const quiet = { print: () => {} };
let n = 0;

async function oneStep(args: Partial<TrainingArguments>): Promise<{ grads: Map<string, Float32Array>; weights: Map<string, Float32Array> }> {
  const model = await tinyModel({ noDropout: true });
  const grads = new Map<string, Float32Array>();
  const trainer = new AdapterTrainer({
    model,
    args: { outputDir: join(tmp, `g${n++}`), maxSteps: 1, maxGradNorm: 0, saveStrategy: 'no', plotCurves: false, learningRate: 1e-3, seed: 5, ...args },
    trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'),
    callbacks: [{ onPreOptimizerStep: () => { for (const [k, p] of model.namedParameters()) if (p.grad) grads.set(k, Float32Array.from(p.grad.dataSync() as Float32Array)); } }],
    ...quiet,
  });
  await trainer.train();
  return { grads, weights: trainableSnapshot(model) };
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let m = 0;
  for (const [k, v] of a) v.forEach((x, i) => (m = Math.max(m, Math.abs(x - b.get(k)![i]!))));
  return m;
}

describe('gradient accumulation', () => {
  it('2 accumulated batches of 4 give the gradients and update of one batch of 8 (within 1e-6)', async () => {
    const big = await oneStep({ perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 1 });
    const acc = await oneStep({ perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 2 });
    expect(big.grads.size).toBeGreaterThan(4);
    const g = maxDiff(big.grads, acc.grads);
    const w = maxDiff(big.weights, acc.weights);
    console.log(`grad accumulation: max |Δgrad| ${g.toExponential(2)}, max |Δweight| ${w.toExponential(2)}`);
    expect(g).toBeLessThan(1e-6);
    expect(w).toBeLessThan(1e-6);
    // Accumulating without the 1/k weighting would double the gradient: the check is sensitive to it.
    const single = await oneStep({ perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 1 });
    expect(maxDiff(big.grads, single.grads)).toBeGreaterThan(1e-4);
  });
});

describe('memory', () => {
  it('a training step returns the live tensor count to its level (batches, losses, gradients freed)', async () => {
    const model = await tinyModel();
    const counts: number[] = [];
    const before = liveTensors();
    const trainer = new AdapterTrainer({
      model,
      args: { outputDir: join(tmp, 'mem'), maxSteps: 6, perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 2, saveStrategy: 'no', plotCurves: false },
      trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'),
      callbacks: [{ onStepEnd: () => void counts.push(liveTensors()) }],
      ...quiet,
    });
    await trainer.train();
    // After the first step the optimizer holds its moments; from then on nothing accumulates.
    expect(new Set(counts.slice(1)).size).toBe(1);
    trainer.dispose();
    expect(liveTensors()).toBe(before);
  });
});

describe('weight-decay groups', () => {
  it('exclude biases and LayerNorm weights, as HF', async () => {
    const model = await tinyModel();
    const decay = decayParameterNames(model);
    expect(decay.has('bert.encoder.layer.0.output.adapters.sst2.adapter_down.weight')).toBe(true);
    expect(decay.has('heads.sst2.1.weight')).toBe(true);
    expect(decay.has('heads.sst2.1.bias')).toBe(false);
    expect(decay.has('bert.encoder.layer.0.output.LayerNorm.weight')).toBe(false);
    expect(decay.has('bert.embeddings.LayerNorm.weight')).toBe(false);
    const trainer = new AdapterTrainer({ model, args: { outputDir: join(tmp, 'wd'), weightDecay: 0.1 }, ...quiet });
    trainer.createOptimizerAndSchedule(10);
    const [g0, g1] = trainer.optimizer!.paramGroups;
    expect(g0!.weightDecay).toBe(0.1);
    expect(g1!.weightDecay).toBe(0);
    // Trainable parameters only: adapters and head (2 layers × 4 adapter tensors + 4 head tensors).
    expect(g0!.params.length + g1!.params.length).toBe(12);
    expect(trainer.trainableParameterNames.every((k) => k.includes('.adapters.sst2.') || k.startsWith('heads.'))).toBe(true);
  });
});

describe('non-finite values', () => {
  it('stop training with an error naming the step and the first offending parameter; no checkpoint for that step', async () => {
    const model = await tinyModel();
    const out = join(tmp, 'nan');
    const bad = model.getParameter('bert.encoder.layer.1.output.adapters.sst2.adapter_up.weight');
    const trainer = new AdapterTrainer({
      model,
      args: { outputDir: out, perDeviceTrainBatchSize: 16, saveStrategy: 'steps', saveSteps: 1, plotCurves: false },
      trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'),
      callbacks: [
        {
          onStepEnd: (ctx) => {
            // Poison one weight after step 2: step 3's loss becomes NaN.
            if (ctx.state.globalStep === 2) noGrad(() => bad.assign(mul(bad, NaN)));
          },
        },
      ],
      ...quiet,
    });
    const err = await trainer.train().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).step).toBe(3);
    expect((err as Error).message).toMatch(/step 3 .*loss is NaN.*'bert\.encoder\.layer\.0\.output\.adapters\.sst2\.adapter_down\.weight'/);
    expect(readdirSync(out).filter((f) => f.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-1', 'checkpoint-2']);
    expect(existsSync(join(out, 'checkpoint-3'))).toBe(false);
  });
});
