import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdapterTrainer, JsonlLog, glueComputeMetrics, glueTask } from '../src/index.js';
import { sst2Features, tinyModel } from './helpers/tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-basic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { print: () => {} };

describe('AdapterTrainer checks', () => {
  it('refuses a model without an active adapter setup', async () => {
    const model = await tinyModel();
    model.setActiveAdapters(null);
    expect(() => new AdapterTrainer({ model, args: { outputDir: join(tmp, 'x') }, ...quiet })).toThrow(/no active adapter setup.*plain training loop/);
  });

  it('refuses to train when the base model is not frozen', async () => {
    const model = await tinyModel();
    model.freezeModel(false);
    const trainer = new AdapterTrainer({ model, args: { outputDir: join(tmp, 'y') }, trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'), ...quiet });
    await expect(trainer.train()).rejects.toThrow(/not frozen.*trainAdapter/);
  });
});

describe('a short real run on 64 SST-2 rows', () => {
  it('lowers the loss, evaluates, logs JSONL and writes curves and checkpoints', async () => {
    const model = await tinyModel();
    const train = sst2Features(model.tokenizer, 'sst2-train-64.tsv');
    const dev = sst2Features(model.tokenizer, 'sst2-dev-32.tsv');
    const out = join(tmp, 'run');
    const trainer = new AdapterTrainer({
      model,
      args: { outputDir: out, learningRate: 3e-3, numTrainEpochs: 6, perDeviceTrainBatchSize: 16, loggingSteps: 4, evalStrategy: 'epoch', saveStrategy: 'epoch', saveTotalLimit: 2, seed: 7 },
      trainDataset: train,
      evalDataset: dev,
      computeMetrics: glueComputeMetrics(glueTask('sst2')),
      ...quiet,
    });
    const before = await trainer.evaluate(train);
    const t0 = performance.now();
    const res = await trainer.train();
    const secs = (performance.now() - t0) / 1000;
    const after = await trainer.evaluate(train);
    console.log(`tiny BERT, cpu-ref: ${res.globalStep} steps, ${(64 * 6) / secs} examples/s (incl. eval+save); train loss ${before.eval_loss} -> ${after.eval_loss}`);
    expect(res.globalStep).toBe(24);
    expect(after.eval_loss!).toBeLessThan(before.eval_loss! - 0.05);
    const log = await JsonlLog.read(join(out, 'log.jsonl'));
    expect(log.filter((e) => 'loss' in e && !('train_loss' in e)).length).toBeGreaterThanOrEqual(6);
    // Six evaluations during training plus the one after it (evaluate() logs too, as HF).
    expect(log.filter((e) => 'eval_accuracy' in e)).toHaveLength(7);
    const files = readdirSync(out).sort();
    expect(files).toEqual(expect.arrayContaining(['checkpoint-20', 'checkpoint-24', 'log.jsonl', 'training_curves.svg']));
    expect(files.filter((f) => f.startsWith('checkpoint-'))).toHaveLength(2);
    expect(readdirSync(join(out, 'checkpoint-24')).sort()).toEqual(['optimizer.json', 'optimizer.safetensors', 'rng_state.json', 'scheduler.json', 'sst2', 'trainer_state.json', 'training_args.json']);
    expect(readdirSync(join(out, 'checkpoint-24', 'sst2')).sort()).toEqual(['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors']);
    const svg = readFileSync(join(out, 'training_curves.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('train loss');
    expect(svg).toContain('accuracy');
  });
});
