/**
 * Child process of the SIGKILL resume test: trains the tiny model with the
 * given arguments into argv[2], sleeping 100 ms after each step so the
 * parent can kill it mid-run.
 */
import { AdapterTrainer } from '../../src/index.js';
import { sst2Features, tinyModel } from './tiny.js';

const [outputDir, argsJson] = process.argv.slice(2);
const model = await tinyModel();
const trainer = new AdapterTrainer({
  model,
  args: { outputDir: outputDir!, ...JSON.parse(argsJson!) },
  trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'),
  callbacks: [{ onStepEnd: () => new Promise((r) => setTimeout(r, 100)) }],
  print: () => {},
});
await trainer.train();
