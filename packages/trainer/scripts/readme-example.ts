/**
 * The README's example, runnable: `npx tsx scripts/readme-example.ts`
 * (from packages/trainer; uses the embedded all-MiniLM-L6-v2 and the shared SST-2 files).
 */
import { AutoAdapterModel, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck';
import {
  AdapterTrainer,
  glueComputeMetrics,
  glueTask,
  loadGlueSplit,
  paddingCollator,
  selectBackend,
  setupAdapterTraining,
  tokenizeExamples,
} from '@adapterkit/trainer';

const backend = await selectBackend('auto'); // the native 'cpu' backend when it loads, else 'cpu-ref'
if (backend.note) console.log(backend.note);
const model = await AutoAdapterModel.fromPretrained('../../models/all-MiniLM-L6-v2', { backend: backend.name });
const tokenizer = model.tokenizer as HfTokenizer;

model.addClassificationHead('sst2', { numLabels: 2, idToLabel: ['negative', 'positive'] });
await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: 'seq_bn' }, 'sst2'); // add, freeze base, activate

const task = glueTask('sst2');
const data = '/work/shared/data';
const trainer = new AdapterTrainer({
  model,
  args: { outputDir: '/tmp/adapterkit-sst2', learningRate: 1e-3, maxSteps: 8, perDeviceTrainBatchSize: 16, evalStrategy: 'steps', evalSteps: 8, loggingSteps: 4 },
  trainDataset: tokenizeExamples(tokenizer, await loadGlueSplit('sst2', 'train', data, 128), { maxSeqLength: 64 }),
  evalDataset: tokenizeExamples(tokenizer, await loadGlueSplit('sst2', 'validation', data, 64), { maxSeqLength: 64 }),
  dataCollator: paddingCollator({ padTokenId: tokenizer.padTokenId }),
  computeMetrics: glueComputeMetrics(task),
});
const result = await trainer.train(); // checkpoints, log.jsonl and training_curves.svg go to outputDir
console.log(result.metrics, await trainer.evaluate());
await trainer.saveModel(); // /tmp/adapterkit-sst2/sst2/: adapter + head in the Python layout
