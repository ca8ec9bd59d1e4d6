import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack } from '@adapterkit/core';
import { AdapterTrainer, EarlyStoppingCallback, setupAdapterTraining, type TrainerCallback } from '../src/index.js';
import { sst2Features, tinyModel, trainableSnapshot } from './helpers/tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-best-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { print: () => {} };

describe('best model, early stopping, rotation', () => {
  it('keeps the best checkpoint through rotation, stops early, and reloads the best adapters at the end', async () => {
    const model = await tinyModel();
    const out = join(tmp, 'best');
    // Scripted metrics make "best" deterministic: eval loss falls, then rises at every later evaluation.
    const scripted = [0.9, 0.5, 0.7, 0.8, 0.85, 0.9];
    let evalCount = 0;
    const snapshots = new Map<number, Map<string, Float32Array>>();
    const script: TrainerCallback = {
      onEvaluate: (ctx, metrics) => {
        metrics.eval_loss = scripted[evalCount++]!;
        void ctx;
      },
      onSave: (ctx) => void snapshots.set(ctx.state.globalStep, trainableSnapshot(model)),
    };
    const trainer = new AdapterTrainer({
      model,
      args: {
        outputDir: out, learningRate: 5e-3, numTrainEpochs: 6, perDeviceTrainBatchSize: 32, evalStrategy: 'epoch', saveStrategy: 'epoch',
        saveTotalLimit: 1, loadBestModelAtEnd: true, earlyStoppingPatience: 2, plotCurves: false,
      },
      trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'),
      evalDataset: sst2Features(model.tokenizer, 'sst2-dev-32.tsv'),
      callbacks: [script],
      ...quiet,
    });
    // The script must run before early stopping reads the metric.
    trainer.callbacks.sort((a, b) => (a instanceof EarlyStoppingCallback ? 1 : 0) - (b instanceof EarlyStoppingCallback ? 1 : 0));
    const res = await trainer.train();
    // Best at epoch 2 (step 4); epochs 3 and 4 do not improve → patience 2 stops after epoch 4.
    expect(res.globalStep).toBe(8);
    expect(trainer.state.bestMetric).toBe(0.5);
    expect(trainer.state.bestModelCheckpoint).toMatch(/checkpoint-4$/);
    // saveTotalLimit 1 with a best that is not the newest keeps two.
    expect(readdirSync(out).filter((f) => f.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-4', 'checkpoint-8']);
    const final = trainableSnapshot(model);
    for (const [k, v] of snapshots.get(4)!) expect(Array.from(final.get(k)!), k).toEqual(Array.from(v));
    const state = JSON.parse(readFileSync(join(out, 'checkpoint-8', 'trainer_state.json'), 'utf8'));
    expect(state.best_metric).toBe(0.5);
    expect(state.stateful_callbacks.EarlyStoppingCallback.patience_counter).toBe(2);
    expect(state.log_history.filter((e: Record<string, number>) => 'eval_loss' in e)).toHaveLength(4);
  });
});

describe('setupAdapterTraining (Python setup_adapter_training)', () => {
  it('adds, freezes and activates the task adapter', async () => {
    const model = await tinyModel({ adapter: null });
    const names = await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: 'test_bn' }, 'sst2');
    expect(names).toEqual(['sst2', null]);
    expect(model.adapterHost.modelFrozen).toBe(true);
    expect(model.activeAdapters?.toString()).toBe("Stack('sst2')");
    expect(model.getParameter('bert.encoder.layer.0.output.adapters.sst2.adapter_down.weight').requiresGrad).toBe(true);
    expect(model.getParameter('bert.encoder.layer.0.output.dense.weight').requiresGrad).toBe(false);
  });

  it('loads a saved task adapter under the new name, and a language adapter below it', async () => {
    const src = await tinyModel({ adapter: 'lang' });
    await src.saveAdapter(join(tmp, 'lang'), 'lang', { withHead: false });
    src.addAdapter('task', 'test_bn');
    await src.saveAdapter(join(tmp, 'task'), 'task', { withHead: false });
    const model = await tinyModel({ adapter: null });
    const [task, lang] = await setupAdapterTraining(model, { trainAdapter: true, loadAdapter: join(tmp, 'task'), loadLangAdapter: join(tmp, 'lang'), langAdapterConfig: 'test_bn' }, 'mrpc');
    expect([task, lang]).toEqual(['mrpc', 'lang']);
    expect(model.activeAdapters?.toString()).toBe(new Stack('lang', 'mrpc').toString());
    expect(Array.from(model.getParameter('bert.encoder.layer.1.output.adapters.mrpc.adapter_up.bias').dataSync())).toEqual(Array.from(src.getParameter('bert.encoder.layer.1.output.adapters.task.adapter_up.bias').dataSync()));
    // Only the task adapter trains.
    expect(model.getParameter('bert.encoder.layer.0.output.adapters.lang.adapter_down.weight').requiresGrad).toBe(false);
  });

  it('without trainAdapter: loading is an error, otherwise nothing happens', async () => {
    const model = await tinyModel({ adapter: null });
    await expect(setupAdapterTraining(model, { loadAdapter: join(tmp, 'task') }, 'x')).rejects.toThrow(/only be loaded in adapter training mode.*--train_adapter/);
    expect(await setupAdapterTraining(model, {}, 'x')).toEqual([null, null]);
  });
});
