/**
 * Training throughput of AdapterTrainer (examples/s over optimizer steps,
 * forward + backward + AdamW, after one warm-up step):
 *
 *   npx tsx scripts/bench-throughput.ts [tiny|minilm|all] [backend] [steps]
 *
 * tiny:   the tiny BERT test fixture (hidden 32, 2 layers) with a small
 *         test bottleneck adapter, batch 16 of SST-2 sentences (≤ 32 tokens).
 * minilm: all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2) with a seq_bn adapter
 *         and a classification head, batch 16 × 128 tokens.
 * backend: 'auto' (default: the native 'cpu' backend when it loads), 'cpu', 'cpu-ref'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoAdapterModel, manualSeed, type AdapterModel } from '@adapterkit/core';
import { AdapterTrainer, selectBackend, type Feature } from '../src/index.js';
import { sst2Features, tinyModel } from '../test/helpers/tiny.js';

const here = dirname(fileURLToPath(import.meta.url));
const [which = 'all', backendChoice = 'auto', stepsArg = '6'] = process.argv.slice(2);
const steps = Number(stepsArg);

async function time(model: AdapterModel, data: Feature[], bs: number, label: string): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'bench-'));
  const stamps: number[] = [];
  const trainer = new AdapterTrainer({
    model,
    args: { outputDir: out, maxSteps: steps + 1, perDeviceTrainBatchSize: bs, saveStrategy: 'no', plotCurves: false, disableProgressBar: true, loggingSteps: 1000, learningRate: 1e-4 },
    trainDataset: data,
    callbacks: [{ onStepEnd: () => void stamps.push(performance.now()) }],
    print: () => {},
  });
  await trainer.train();
  rmSync(out, { recursive: true, force: true });
  const secs = (stamps[stamps.length - 1]! - stamps[0]!) / 1000;
  const perStep = secs / (stamps.length - 1);
  console.log(`${label}: ${((bs * (stamps.length - 1)) / secs).toFixed(1)} examples/s (${(perStep * 1000).toFixed(0)} ms/step of ${bs}, ${stamps.length - 1} timed steps)`);
}

const backend = await selectBackend(backendChoice);
console.log(`backend: ${backend.name}${backend.note ? ` — ${backend.note}` : ''}`);

if (which === 'tiny' || which === 'all') {
  const model = await tinyModel();
  // tinyModel sets cpu-ref; move back to the chosen backend only if it is cpu-ref (the fixture loader pins cpu-ref).
  await time(model, sst2Features(model.tokenizer, 'sst2-train-64.tsv'), 16, `tiny BERT (h32, 2 layers), batch 16 × ≤32 tokens, cpu-ref`);
  await selectBackend(backendChoice);
}

if (which === 'minilm' || which === 'all') {
  await import('@adapterkit/method-bottleneck');
  manualSeed(0);
  const model = (await AutoAdapterModel.fromPretrained(join(here, '..', '..', '..', 'models', 'all-MiniLM-L6-v2'), { backend: backend.name, onWarning: () => {} })) as AdapterModel;
  model.addAdapter('bench', 'seq_bn');
  model.addClassificationHead('bench', { numLabels: 2 });
  model.trainAdapter('bench');
  const data: Feature[] = Array.from({ length: 16 * (steps + 1) }, (_, i) => ({
    inputIds: [101, ...Array.from({ length: 126 }, (_, j) => 1000 + ((i * 131 + j * 17) % 20000)), 102],
    tokenTypeIds: new Array<number>(128).fill(0),
    label: i % 2,
  }));
  await time(model, data, 16, `all-MiniLM-L6-v2 + seq_bn, batch 16 × 128 tokens, ${backend.name}`);
}
