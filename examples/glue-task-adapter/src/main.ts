/**
 * Task adapters on GLUE with all-MiniLM-L6-v2: for each task (SST-2, MRPC)
 * add a `seq_bn` bottleneck adapter and a classification head, freeze the
 * base model, train adapter + head with AdapterTrainer on a subset of the
 * training split, evaluate on the full GLUE dev set, save adapter + head in
 * the Python `adapters` layout, then reload them into a fresh model and
 * classify a few sentences.
 *
 *   pnpm --filter @adapterkit/example-glue-task-adapter start            # short run (a few minutes)
 *   pnpm --filter @adapterkit/example-glue-task-adapter start --full     # all training data, 3 epochs (about an hour on 2 idle cores)
 *
 * Flags (each overrides the task defaults below): --tasks sst2,mrpc
 * --max_train_samples N|all --max_eval_samples N (quick checks only; the
 * default evaluates the whole dev set) --num_train_epochs E
 * --max_seq_length L --learning_rate LR --batch_size B --seed S
 * --adapter_config (default seq_bn) --backend auto|cpu|cpu-ref
 * --output_dir DIR. Data: $ADAPTERKIT_DATA_DIR (default ../shared/data
 * next to the repository); model: $ADAPTERKIT_DEFAULT_MODEL (default
 * models/all-MiniLM-L6-v2).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AutoAdapterModel, noGrad, softmax, tensor, type AdapterModel, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck'; // registers seq_bn and the other bottleneck configs
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

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = process.env.ADAPTERKIT_DEFAULT_MODEL ?? join(REPO, 'models', 'all-MiniLM-L6-v2');
const DATA = process.env.ADAPTERKIT_DATA_DIR ?? join(REPO, '..', 'shared', 'data');

/** Per-task settings of the short default run, sized for ~2 minutes a task on 2 CPU cores. */
interface TaskSettings {
  maxTrainSamples: number | undefined; // undefined = the whole training split
  epochs: number;
  maxSeqLength: number;
  learningRate: number;
  batchSize: number;
  /** Sentences (or pairs) to classify with the reloaded adapter. */
  demo: [string, string?][];
}

const TASKS: Record<'sst2' | 'mrpc', TaskSettings> = {
  // SST-2 training rows are short phrases; the dev set is full sentences (≤ 64 tokens covers almost all).
  sst2: {
    maxTrainSamples: 4000,
    epochs: 1,
    maxSeqLength: 64,
    learningRate: 1e-3,
    batchSize: 32,
    demo: [['a gorgeous , witty , seductive movie .'], ['the plot is nothing but boilerplate clichés from start to finish .']],
  },
  // MRPC pairs are ~50 tokens together; 128 keeps them whole. Smaller batches and a higher rate give the adapter
  // enough updates to move off the majority class within one pass over 2000 pairs.
  mrpc: {
    maxTrainSamples: 2000,
    epochs: 1,
    maxSeqLength: 128,
    learningRate: 2e-3,
    batchSize: 16,
    demo: [
      ['The company said its profit rose 10 percent in the third quarter .', 'Third-quarter profit climbed 10 percent , the company said .'],
      ['The company said its profit rose 10 percent in the third quarter .', 'The storm is expected to reach the coast on Friday morning .'],
    ],
  },
};

const { values: flags } = parseArgs({
  options: {
    tasks: { type: 'string', default: 'sst2,mrpc' },
    full: { type: 'boolean', default: false },
    max_train_samples: { type: 'string' },
    max_eval_samples: { type: 'string' },
    adapter_config: { type: 'string', default: 'seq_bn' },
    num_train_epochs: { type: 'string' },
    max_seq_length: { type: 'string' },
    learning_rate: { type: 'string' },
    batch_size: { type: 'string' },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'auto' },
    output_dir: { type: 'string', default: 'out' },
  },
});

function numberFlag(name: keyof typeof flags): number | undefined {
  const v = flags[name];
  if (v === undefined || typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got '${v}'`);
  return n;
}

/** The settings of one task: defaults, then --full, then explicit flags. */
function settingsFor(task: 'sst2' | 'mrpc'): TaskSettings {
  const s = { ...TASKS[task] };
  if (flags.full) {
    s.maxTrainSamples = undefined;
    s.epochs = 3;
    s.learningRate = 1e-4; // the usual adapter rate for full runs (adapters' run_glue examples)
  }
  if (flags.max_train_samples === 'all') s.maxTrainSamples = undefined;
  else s.maxTrainSamples = numberFlag('max_train_samples') ?? s.maxTrainSamples;
  s.epochs = numberFlag('num_train_epochs') ?? s.epochs;
  s.maxSeqLength = numberFlag('max_seq_length') ?? s.maxSeqLength;
  s.learningRate = numberFlag('learning_rate') ?? s.learningRate;
  s.batchSize = numberFlag('batch_size') ?? s.batchSize;
  return s;
}

/** Trains, evaluates and saves one task adapter; returns the dev metrics and timings. */
async function runTask(name: 'sst2' | 'mrpc', backend: string): Promise<Record<string, unknown>> {
  const s = settingsFor(name);
  const task = glueTask(name);
  const outputDir = join(flags.output_dir!, name);
  await rm(outputDir, { recursive: true, force: true }); // a fresh run each time (the trainer would otherwise resume)

  const model = await AutoAdapterModel.fromPretrained(MODEL, { backend, onWarning: () => {} });
  const tokenizer = model.tokenizer as HfTokenizer;

  // Head and adapter share the task's name, so they are saved side by side and reload together.
  model.addClassificationHead(name, { numLabels: task.labels.length, idToLabel: [...task.labels] });
  // Python's setup_adapter_training: add the adapter, freeze the base model (trainAdapter), activate it.
  await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: flags.adapter_config! }, name);
  console.log(model.adapterSummary());

  // Train on the first N rows of the training split; evaluate on the whole dev set (SST-2 872, MRPC 1725).
  const train = await loadGlueSplit(name, 'train', DATA, s.maxTrainSamples);
  const dev = await loadGlueSplit(name, 'validation', DATA, numberFlag('max_eval_samples')); // all by default
  console.log(`${name}: ${train.length} training examples, ${dev.length} dev examples, ${s.epochs} epoch(s), max ${s.maxSeqLength} tokens, lr ${s.learningRate}, batch ${s.batchSize}`);

  const trainer = new AdapterTrainer({
    model,
    args: {
      outputDir,
      learningRate: s.learningRate,
      numTrainEpochs: s.epochs,
      perDeviceTrainBatchSize: s.batchSize,
      perDeviceEvalBatchSize: 64,
      warmupRatio: 0.06,
      seed: Number(flags.seed),
      evalStrategy: 'no', // one evaluation at the end keeps the short run short
      saveStrategy: flags.full ? 'epoch' : 'no',
      loggingSteps: 25,
      groupByLength: true, // fewer padding tokens per batch
    },
    trainDataset: tokenizeExamples(tokenizer, train, { maxSeqLength: s.maxSeqLength }),
    evalDataset: tokenizeExamples(tokenizer, dev, { maxSeqLength: s.maxSeqLength }),
    dataCollator: paddingCollator({ padTokenId: tokenizer.padTokenId }),
    computeMetrics: glueComputeMetrics(task), // accuracy (SST-2); accuracy, F1 and their mean (MRPC)
  });
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const result = await trainer.train();
  const trainSeconds = (performance.now() - t0) / 1000;
  const trainCpu = cpuSeconds() - c0;
  const metrics = await trainer.evaluate();
  // Writes <outputDir>/<name>/adapter_config.json + adapter.safetensors and head_config.json + model_head.safetensors.
  await trainer.saveModel();
  trainer.dispose();
  model.dispose();

  const demoRows = await demo(name, join(outputDir, name), backend, s.demo);
  return {
    task: name,
    train_examples: train.length,
    epochs: s.epochs,
    steps: result.globalStep,
    train_loss: round(result.trainingLoss),
    train_seconds: round(trainSeconds, 1),
    train_cpu_seconds: round(trainCpu, 1),
    ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, round(v)])),
    adapter_dir: join(outputDir, name),
    max_seq_length: s.maxSeqLength,
    demo: demoRows,
  };
}

/** Loads the saved adapter + head into a fresh model (as a user would) and classifies a few inputs. */
async function demo(name: string, dir: string, backend: string, inputs: [string, string?][]): Promise<DemoRow[]> {
  const model = (await AutoAdapterModel.fromPretrained(MODEL, { backend, onWarning: () => {} })) as AdapterModel;
  const tokenizer = model.tokenizer as HfTokenizer;
  await model.loadAdapter(dir, { setActive: true }); // also loads the head saved next to it and makes it active
  const labels = model.getLabels(name)!;
  const rows: DemoRow[] = [];
  for (const [text, pair] of inputs) {
    const enc = tokenizer.encode(text, pair);
    const probs = noGrad(() => {
      const inputIds = tensor(Int32Array.from(enc.ids), [1, enc.ids.length], { dtype: 'i32' });
      const tokenTypeIds = tensor(Int32Array.from(enc.tokenTypeIds), [1, enc.ids.length], { dtype: 'i32' });
      return softmax(model.forward({ inputIds, tokenTypeIds }).logits!, -1);
    });
    const p = Array.from(await probs.data());
    probs.dispose();
    const best = p.indexOf(Math.max(...p));
    console.log(`  ${labels[best]} (${(p[best]! * 100).toFixed(1)}%)  ${pair ? `"${text}" / "${pair}"` : `"${text}"`}`);
    rows.push({ text, pair, label: labels[best]!, probabilities: p });
  }
  model.dispose();
  return rows;
}

/** One demo prediction (kept in results.json, so scripts/load_in_python.py can compare Python's). */
interface DemoRow {
  text: string;
  pair?: string;
  label: string;
  probabilities: number[];
}

/** CPU time of this process (user + system, all threads): less noisy than wall time on a shared machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function round(v: number, digits = 4): number {
  return Number(v.toFixed(digits));
}

async function main(): Promise<void> {
  const chosen = flags.tasks!.split(',').map((t) => t.trim().toLowerCase());
  for (const t of chosen) if (!(t in TASKS)) throw new Error(`--tasks: '${t}' is not one of ${Object.keys(TASKS).join(', ')}`);
  const backend = await selectBackend(flags.backend!); // the native 'cpu' backend when it builds, else 'cpu-ref'
  console.log(`backend: ${backend.name}${backend.note ? ` (${backend.note})` : ''}; model ${MODEL}; data ${DATA}`);
  const results: Record<string, unknown>[] = [];
  const t0 = performance.now();
  for (const t of chosen) results.push(await runTask(t as 'sst2' | 'mrpc', backend.name));
  const total = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds();
  console.table(results.map((r) => ({ task: r.task, examples: r.train_examples, epochs: r.epochs, train_s: r.train_seconds, eval_loss: r.eval_loss, accuracy: r.eval_accuracy, f1: r.eval_f1 ?? '' })));
  const summary = { date: new Date().toISOString(), backend: backend.name, total_seconds: round(total, 1), cpu_seconds: round(cpu, 1), results };
  await mkdir(flags.output_dir!, { recursive: true });
  await writeFile(join(flags.output_dir!, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`total ${total.toFixed(0)} s wall, ${cpu.toFixed(0)} s CPU; results in ${join(flags.output_dir!, 'results.json')}`);
}

await main();
