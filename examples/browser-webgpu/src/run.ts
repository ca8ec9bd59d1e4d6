/**
 * The pipeline, without the page: load MiniLM and SST-2 from the server,
 * add an adapter and a classification head, train them on WebGPU, evaluate,
 * and produce the adapter's files in the Python layout.
 */
import { registerWebGpuBackend } from '@adapterkit/backend-webgpu';
import {
  AdamW, AutoAdapterModel, LinearSchedule, backward, clipGradNorm, dispose, manualSeed, noGrad, softmax, tensor, tidy,
  type AdapterModel, type HfTokenizer, type Tensor,
} from '@adapterkit/core';
import '@adapterkit/method-bottleneck'; // registers seq_bn and the other bottleneck configs
import '@adapterkit/method-lora'; // registers lora, ia3
import { batchOrder, encodeBatch, fetchBytes, parseSst2, type Batch, type Example } from './data.js';
import type { RunParams } from './params.js';

/** Adapter and head name (the folder name in the download, as the trainer names task adapters). */
export const TASK = 'sst2';
export const LABELS = ['negative', 'positive'];

/** Sentences whose logits the page reports after training (the test recomputes them in Node). */
export const DEMO_SENTENCES = [
  'a gorgeous , witty , seductive movie .',
  'the plot is nothing but boilerplate clichés from start to finish .',
  'it is not a bad film , but it is not a good one either .',
  'an utterly charming and hilarious film that reminded me why i love the movies .',
];

/** Registers the WebGPU backend on navigator.gpu; returns a description of the adapter. */
export async function startWebGpu(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw new Error('navigator.gpu is missing: this browser has WebGPU off (Chrome/Edge 113+; on Linux start Chromium with --enable-unsafe-webgpu)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter');
  const info = adapter.info;
  await registerWebGpuBackend({ adapter });
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

export interface Loaded {
  model: AdapterModel;
  tokenizer: HfTokenizer;
  train: Example[];
  dev: Example[];
  modelBytes: number;
}

/** Fetches MiniLM (config, F16 safetensors, tokenizer) and SST-2, builds the model on WebGPU. */
export async function load(p: RunParams): Promise<Loaded> {
  const [config, weights, tokenizer, tokenizerConfig, trainTsv, devTsv] = await Promise.all([
    fetchBytes('/model/config.json'),
    fetchBytes('/model/model.safetensors'),
    fetchBytes('/model/tokenizer.json'),
    fetchBytes('/model/tokenizer_config.json'),
    fetchBytes('/data/alps/SST-2/train.tsv'),
    fetchBytes('/data/alps/SST-2/test.tsv'), // GLUE's SST-2 dev set (872 sentences)
  ]);
  const model = await AutoAdapterModel.fromFiles({ config, weights, tokenizer, tokenizerConfig, source: '/model' }, { backend: 'webgpu' });
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    model,
    tokenizer: model.tokenizer as HfTokenizer,
    train: parseSst2(text(trainTsv), p.train, 'alps/SST-2/train.tsv'),
    dev: parseSst2(text(devTsv), p.eval, 'alps/SST-2/test.tsv'),
    modelBytes: weights.length,
  };
}

/** Adds adapter + head 'sst2' and freezes the base model (Python's train_adapter). */
export function setup(model: AdapterModel, p: RunParams): { trainable: number } {
  manualSeed(p.seed);
  model.addAdapter(TASK, p.adapter);
  model.addClassificationHead(TASK, { numLabels: LABELS.length, idToLabel: LABELS });
  model.trainAdapter(TASK);
  const trainable = model.parameters().filter((t) => t.requiresGrad).reduce((n, t) => n + t.size, 0);
  return { trainable };
}

function disposeBatch(b: Batch): void {
  dispose([b.inputIds, b.attentionMask, b.tokenTypeIds, b.labels]);
}

/**
 * AdamW (no weight decay, as HF's default) with linear warmup and decay,
 * gradients clipped to norm 1; dropout on. `onStep` gets each step's loss,
 * read back from the GPU (which also paces the loop, so the page stays live).
 */
export async function train(
  model: AdapterModel, tokenizer: HfTokenizer, data: readonly Example[], p: RunParams,
  onStep: (step: number, loss: number, lr: number) => void | Promise<void>,
): Promise<void> {
  const params = model.parameters().filter((t) => t.requiresGrad);
  const optimizer = new AdamW(params, { lr: p.lr, weightDecay: 0 });
  const schedule = new LinearSchedule({ lr: p.lr, warmupSteps: p.warmup, totalSteps: p.steps });
  const order = batchOrder(data.length, Math.min(p.batch, data.length), p.steps, p.seed);
  model.train();
  try {
    for (let step = 0; step < p.steps; step++) {
      const batch = encodeBatch(tokenizer, order[step]!.map((i) => data[i]!), p.maxLen, true);
      let loss: Tensor | undefined;
      try {
        loss = tidy(() => {
          const out = model.forward({ ...batch });
          backward(out.loss!);
          return out.loss!;
        });
        clipGradNorm(params, 1.0).dispose();
        schedule.apply(optimizer, step);
        optimizer.step();
        optimizer.zeroGrad();
        const value = (await loss.data())[0]!;
        if (!Number.isFinite(value)) throw new Error(`training diverged: loss ${value} at step ${step + 1}`);
        await onStep(step + 1, value, optimizer.paramGroups[0]!.lr);
      } finally {
        loss?.dispose();
        disposeBatch(batch);
      }
    }
  } finally {
    optimizer.dispose();
    model.eval();
  }
}

/** Accuracy on `data`, in batches of 32 (dropout off). */
export async function evaluate(model: AdapterModel, tokenizer: HfTokenizer, data: readonly Example[], p: RunParams, onProgress?: (done: number) => void): Promise<number> {
  model.eval();
  let correct = 0;
  for (let i = 0; i < data.length; i += 32) {
    const rows = data.slice(i, i + 32);
    const batch = encodeBatch(tokenizer, rows, p.maxLen, false);
    const logits = noGrad(() => tidy(() => model.forward({ ...batch }).logits!));
    const v = await logits.data();
    dispose([logits]);
    disposeBatch(batch);
    rows.forEach((r, j) => {
      if ((v[2 * j + 1]! > v[2 * j]! ? 1 : 0) === r.label) correct++;
    });
    onProgress?.(i + rows.length);
  }
  return correct / data.length;
}

export interface SentenceLogits {
  text: string;
  ids: number[];
  logits: number[];
  probabilities: number[];
}

/** Logits of each sentence on its own (batch of one, no padding), so any runtime can reproduce them exactly. */
export async function sentenceLogits(model: AdapterModel, tokenizer: HfTokenizer, sentences: readonly string[]): Promise<SentenceLogits[]> {
  model.eval();
  const out: SentenceLogits[] = [];
  for (const text of sentences) {
    const { ids } = tokenizer.encode(text);
    const [logits, probs] = noGrad(() => tidy(() => {
      const l = model.forward({ inputIds: tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'i32' }) }).logits!;
      return [l, softmax(l, -1)];
    }));
    out.push({ text, ids, logits: Array.from(await logits!.data()), probabilities: Array.from(await probs!.data()) });
    dispose([logits, probs]);
  }
  return out;
}
