/**
 * AdapterFusion, end to end on CPU (Pfeiffer et al. 2021, as the Python
 * `adapters` run_fusion_glue.py does it):
 *
 *   1. train a seq_bn task adapter (+ head) on the UCI sentiment sentences;
 *   2. train a seq_bn task adapter (+ head) on sentence-level SST-2;
 *   3. fuse both with AdapterFusion (dynamic) and train only the fusion layers
 *      and a new head on SST-2 (`trainAdapterFusion`);
 *
 * and report SST-2 dev accuracy of each single adapter and of the fusion.
 * Small subsets and short sequences keep it to minutes on two CPU cores;
 * set FUSION_EXAMPLE_SCALE (e.g. 0.25 or 2) to shrink or grow every subset.
 */
import { fileURLToPath } from 'node:url';
import { AutoAdapterModel, Fuse, manualSeed, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck';
import '@adapterkit/composition';
import {
  AdapterTrainer, evaluateModel, glueComputeMetrics, paddingCollator, selectBackend, tokenizeExamples,
  type Feature, type TextExample,
} from '@adapterkit/trainer';
import { readSst2, readUci, shuffled } from './data.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = process.env.ADAPTERKIT_DATA_DIR ?? fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const SCALE = Number(process.env.FUSION_EXAMPLE_SCALE ?? '1');
const n = (x: number): number => Math.max(16, Math.round(x * SCALE));

const config = {
  seed: 42,
  maxSeqLength: 40,
  trainUci: n(1000),
  trainSst2: n(1000),
  devSst2: n(500),
  adapter: 'seq_bn[reduction_factor=16]',
  adapterArgs: { learningRate: 1e-3, numTrainEpochs: 2, perDeviceTrainBatchSize: 16, warmupRatio: 0.06 },
  fusionArgs: { learningRate: 5e-4, numTrainEpochs: 2, perDeviceTrainBatchSize: 16, warmupRatio: 0.06 },
};

const accuracyOnly = glueComputeMetrics({ metrics: ['accuracy'], isRegression: false });

async function main(): Promise<void> {
  const started = performance.now();
  const backend = await selectBackend('auto');
  if (backend.note) console.log(backend.note);
  manualSeed(config.seed);
  const model = await AutoAdapterModel.fromPretrained(`${ROOT}models/all-MiniLM-L6-v2`, { backend: backend.name });
  const tokenizer = model.tokenizer as HfTokenizer;
  const features = (xs: TextExample[]): Feature[] => tokenizeExamples(tokenizer, xs, { maxSeqLength: config.maxSeqLength });

  const uci = shuffled(readUci(`${DATA}uci-sentiment`), config.seed).slice(0, config.trainUci);
  const sst2Train = shuffled(readSst2(`${DATA}sst2-sentence/train.tsv`), config.seed).slice(0, config.trainSst2);
  const sst2Dev = shuffled(readSst2(`${DATA}sst2-sentence/test.tsv`), config.seed).slice(0, config.devSst2);
  console.log(`data: UCI train ${uci.length}, SST-2 train ${sst2Train.length}, SST-2 dev ${sst2Dev.length} sentences; max length ${config.maxSeqLength}; backend ${backend.name}`);
  const dev = features(sst2Dev);
  const collator = paddingCollator({ padTokenId: tokenizer.padTokenId });
  const devAccuracy = async (): Promise<number> => {
    const m = await evaluateModel({ model, dataset: dev, collator, batchSize: 64, computeMetrics: accuracyOnly, backend: backend.name });
    return m.eval_accuracy!;
  };

  const results: Record<string, number> = {};
  const timings: Record<string, number> = {};

  // 1–2. One task adapter (and its head) per task.
  for (const [name, data] of [['uci', uci], ['sst2', sst2Train]] as const) {
    const t0 = performance.now();
    model.addAdapter(name, config.adapter);
    model.addClassificationHead(name, { numLabels: 2, idToLabel: ['negative', 'positive'] });
    model.trainAdapter(name);
    const trainer = new AdapterTrainer({
      model,
      args: { outputDir: `/tmp/adapterkit-fusion-example/${name}`, overwriteOutputDir: true, saveStrategy: 'no', loggingSteps: 20, seed: config.seed, disableProgressBar: true, ...config.adapterArgs },
      trainDataset: features(data),
      dataCollator: collator,
    });
    const out = await trainer.train();
    timings[name] = (performance.now() - t0) / 1000;
    model.setActiveAdapters(name); // activates the head of the same name too
    results[`${name} adapter`] = await devAccuracy();
    console.log(`${name}: trained ${out.globalStep} steps (loss ${out.trainingLoss.toFixed(3)}) in ${timings[name]!.toFixed(0)} s; SST-2 dev accuracy ${(100 * results[`${name} adapter`]!).toFixed(1)}%`);
  }

  // 3. AdapterFusion over both adapters, trained on SST-2 with a new head; the adapters stay frozen.
  const t0 = performance.now();
  const fuse = new Fuse('uci', 'sst2');
  model.addAdapterFusion(fuse, 'dynamic');
  model.addClassificationHead('sst2_fusion', { numLabels: 2, idToLabel: ['negative', 'positive'] });
  model.trainAdapterFusion(fuse);
  model.activeHead = 'sst2_fusion';
  const trainer = new AdapterTrainer({
    model,
    args: { outputDir: '/tmp/adapterkit-fusion-example/fusion', overwriteOutputDir: true, saveStrategy: 'no', loggingSteps: 20, seed: config.seed, disableProgressBar: true, ...config.fusionArgs },
    trainDataset: features(sst2Train),
    dataCollator: collator,
  });
  const out = await trainer.train();
  timings.fusion = (performance.now() - t0) / 1000;
  results['Fuse(uci, sst2)'] = await devAccuracy();
  console.log(`fusion: trained ${out.globalStep} steps (loss ${out.trainingLoss.toFixed(3)}) in ${timings.fusion.toFixed(0)} s; SST-2 dev accuracy ${(100 * results['Fuse(uci, sst2)']!).toFixed(1)}%`);

  await model.saveAdapterFusion('/tmp/adapterkit-fusion-example/fusion/uci,sst2', fuse);
  console.log('\nSST-2 dev accuracy');
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(18)} ${(100 * v).toFixed(1)}%`);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s; the fusion is saved in /tmp/adapterkit-fusion-example/fusion/uci,sst2 (Python layout)`);
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
