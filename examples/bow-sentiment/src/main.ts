/**
 * The foundation's main job: train a bag-of-words MLP on the real UCI
 * sentiment sentences (yelp + amazon + imdb, 3000 rows) with the core
 * runtime on the reference CPU backend, and report held-out accuracy.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { AdamW, argmax, backward, crossEntropy, manualSeed, memory, noGrad, setBackend, tensor, tidy } from '@adapterkit/core';
import { buildVocab, featurize, readLabelled, split, type Example } from './data.js';
import { BowClassifier } from './model.js';

const DATA_DIR = fileURLToPath(new URL('../../../../shared/data/uci-sentiment/', import.meta.url));
const FILES = ['yelp_labelled.txt', 'amazon_cells_labelled.txt', 'imdb_labelled.txt'];
const config = { seed: 13, epochs: 5, batchSize: 32, lr: 2e-3, hidden: 64, dropout: 0.2, minCount: 2, heldOut: 0.2 };

function batches(examples: Example[], size: number): Example[][] {
  const out: Example[][] = [];
  for (let i = 0; i < examples.length; i += size) out.push(examples.slice(i, i + size));
  return out;
}

async function accuracy(model: BowClassifier, examples: Example[], vocab: Map<string, number>): Promise<number> {
  model.eval();
  const pred = noGrad(() =>
    tidy(() => argmax(model.forward(tensor(featurize(examples, vocab), [examples.length, vocab.size])), -1)),
  );
  const labels = await pred.data();
  pred.dispose();
  model.train();
  return examples.filter((e, i) => labels[i] === e.label).length / examples.length;
}

async function main(): Promise<void> {
  setBackend('cpu-ref');
  manualSeed(config.seed);
  const all = FILES.flatMap((f) => readLabelled(join(DATA_DIR, f)));
  const { train, test } = split(all, config.heldOut, config.seed);
  const vocab = buildVocab(train, config.minCount);
  console.log(`data: ${train.length} train / ${test.length} held-out sentences, vocabulary ${vocab.size} words (backend cpu-ref)`);

  const model = new BowClassifier(vocab.size, config.hidden, config.dropout);
  const optimizer = new AdamW(model.parameters(), { lr: config.lr, weightDecay: 0.01 });
  const startBuffers = memory().liveBuffers;
  const t0 = performance.now();
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    let lossSum = 0;
    const epochData = split(train, 0, config.seed + epoch).train;
    for (const batch of batches(epochData, config.batchSize)) {
      const loss = tidy(() => {
        const x = tensor(featurize(batch, vocab), [batch.length, vocab.size]);
        const y = tensor(Int32Array.from(batch, (e) => e.label), [batch.length]);
        return crossEntropy(model.forward(x), y);
      });
      backward(loss);
      optimizer.step();
      optimizer.zeroGrad();
      lossSum += (await loss.item()) * batch.length;
      loss.dispose();
    }
    const acc = await accuracy(model, test, vocab);
    console.log(`epoch ${epoch}: train loss ${(lossSum / epochData.length).toFixed(4)}, held-out accuracy ${(acc * 100).toFixed(1)}%`);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`trained ${model.numParameters()} parameters in ${seconds.toFixed(1)} s; live buffers ${memory().liveBuffers} (start ${startBuffers})`);
}

await main();
