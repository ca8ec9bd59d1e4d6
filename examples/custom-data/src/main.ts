/**
 * Train a task adapter on your own data: a CSV, TSV or JSON Lines file,
 * mapped to examples by naming the text column(s), the label column and
 * the label list. Shown on TREC question classification (6 coarse classes:
 * ABBR, DESC, ENTY, HUM, LOC, NUM; train 5444 / test 499) with a LoRA
 * adapter on all-MiniLM-L6-v2.
 *
 *   pnpm --filter @adapterkit/example-custom-data start                  # TREC, short run (a few minutes)
 *   pnpm --filter @adapterkit/example-custom-data start --num_train_epochs 2   # longer (about twice the time)
 *   pnpm --filter @adapterkit/example-custom-data start --train_file my.csv --validation_file my-dev.csv \
 *     --text_column review --label_column stars --labels 1,2,3,4,5
 *
 * Flags: --train_file / --validation_file (.csv, .tsv, .jsonl, .json;
 * default: TREC, converted once to --format csv|tsv|jsonl) --text_column
 * --text_pair_column --label_column --labels a,b,c (default: the sorted
 * distinct labels of the training file) --adapter_config (default
 * "lora[r=8,alpha=16]") --max_train_samples N --num_train_epochs E
 * --max_seq_length L --learning_rate LR --batch_size B --seed S
 * --backend auto|cpu|cpu-ref --output_dir DIR.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AutoAdapterModel, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-lora'; // registers lora, ia3, dora
import '@adapterkit/method-bottleneck'; // registers seq_bn, double_seq_bn, par_bn, compacter, … (for --adapter_config)
import {
  AdapterTrainer,
  accuracy,
  argmaxRows,
  f1,
  inferLabels,
  paddingCollator,
  readTable,
  rowsToExamples,
  selectBackend,
  setupAdapterTraining,
  tokenizeExamples,
  type ComputeMetrics,
  type ExampleMapping,
} from '@adapterkit/trainer';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = process.env.ADAPTERKIT_DEFAULT_MODEL ?? join(REPO, 'models', 'all-MiniLM-L6-v2');
const DATA = process.env.ADAPTERKIT_DATA_DIR ?? join(REPO, '..', 'shared', 'data');

const { values: flags } = parseArgs({
  options: {
    train_file: { type: 'string' },
    validation_file: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    text_column: { type: 'string', default: 'question' },
    text_pair_column: { type: 'string' },
    label_column: { type: 'string', default: 'coarse' },
    labels: { type: 'string' },
    adapter_config: { type: 'string', default: 'lora[r=8,alpha=16]' },
    max_train_samples: { type: 'string' },
    num_train_epochs: { type: 'string', default: '1' },
    max_seq_length: { type: 'string', default: '64' },
    learning_rate: { type: 'string', default: '1e-3' },
    batch_size: { type: 'string', default: '32' },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'auto' },
    output_dir: { type: 'string', default: 'out' },
  },
});

function num(name: keyof typeof flags): number | undefined {
  const v = flags[name];
  if (v === undefined || typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got '${v}'`);
  return n;
}

/**
 * TREC's `.label` files are not a table ("DESC:manner How did serfdom
 * develop ... ?"), so they are written once as an ordinary CSV / TSV /
 * JSONL file with columns question, coarse, fine — the kind of file you
 * would bring yourself. CSV fields are quoted as RFC 4180 (questions hold
 * commas and quotes); TSV fields have no tabs here, so no quoting.
 */
async function trecAsTable(split: 'train_5500' | 'TREC_10', format: string, dir: string): Promise<string> {
  const text = await readFile(join(DATA, 'trec', `${split}.label`), 'latin1');
  const rows = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [label, ...words] = l.trim().split(' ');
      const [coarse, fine] = label!.split(':');
      return { question: words.join(' '), coarse: coarse!, fine: fine! };
    });
  const csv = (v: string): string => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const body =
    format === 'jsonl'
      ? rows.map((r) => JSON.stringify(r)).join('\n')
      : format === 'tsv'
        ? ['question\tcoarse\tfine', ...rows.map((r) => `${r.question}\t${r.coarse}\t${r.fine}`)].join('\n')
        : format === 'csv'
          ? ['question,coarse,fine', ...rows.map((r) => [r.question, r.coarse, r.fine].map(csv).join(','))].join('\n')
          : '';
  if (!body) throw new Error(`--format: expected csv, tsv or jsonl, got '${format}'`);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `trec-${split === 'TREC_10' ? 'test' : 'train'}.${format}`);
  await writeFile(path, `${body}\n`);
  return path;
}

/**
 * Accuracy, macro-F1 (every class counts the same, so small classes show) and
 * the recall of each class by name — the label list gives the names.
 */
function metricsFor(labels: readonly string[]): ComputeMetrics {
  return (p) => {
    const preds = argmaxRows(p.predictions, p.numLabels);
    const out: Record<string, number> = { accuracy: accuracy(preds, p.labels), macro_f1: f1(preds, p.labels, { average: 'macro' }) };
    labels.forEach((name, id) => {
      const rows = [...p.labels.keys()].filter((i) => p.labels[i] === id);
      if (rows.length) out[`recall_${name}`] = rows.filter((i) => preds[i] === id).length / rows.length;
    });
    return out;
  };
}

/** CPU time of this process (user + system, all threads): less noisy than wall time on a shared machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const outputDir = flags.output_dir!;
  const trainFile = flags.train_file ?? (await trecAsTable('train_5500', flags.format!, join(outputDir, 'data')));
  const validationFile = flags.validation_file ?? (await trecAsTable('TREC_10', flags.format!, join(outputDir, 'data')));

  // 1. Read the files: the format comes from the extension (.csv quoted, .tsv unquoted, .jsonl one object a line).
  const trainRows = await readTable(trainFile);
  const validationRows = await readTable(validationFile);
  console.log(`read ${trainRows.length} rows from ${trainFile} and ${validationRows.length} from ${validationFile}; columns: ${Object.keys(trainRows[0] ?? {}).join(', ')}`);

  // 2. Map columns to examples. The label list fixes the class ids (its order); the file may hold names or ids.
  const labels = flags.labels?.split(',').map((l) => l.trim()) ?? inferLabels(trainRows, flags.label_column).labels;
  const mapping: ExampleMapping = {
    textColumns: [flags.text_column!, flags.text_pair_column ?? null], // a second column makes sentence pairs
    labelColumn: flags.label_column,
    labels,
    isRegression: false,
  };
  const limit = num('max_train_samples');
  const train = rowsToExamples(limit ? trainRows.slice(0, limit) : trainRows, mapping, trainFile);
  const validation = rowsToExamples(validationRows, mapping, validationFile);
  console.log(`labels (id order): ${labels.map((l, i) => `${i}=${l}`).join(' ')}`);
  console.log(`example: ${JSON.stringify(train[0])}`);

  // 3. Model, head and adapter. The head gets the label names, so they are saved with it (head_config.json).
  const backend = await selectBackend(flags.backend!); // the native 'cpu' backend when it builds, else 'cpu-ref'
  console.log(`backend: ${backend.name}${backend.note ? ` (${backend.note})` : ''}`);
  const model = await AutoAdapterModel.fromPretrained(MODEL, { backend: backend.name, onWarning: () => {} });
  const tokenizer = model.tokenizer as HfTokenizer;
  const name = 'custom';
  model.addClassificationHead(name, { numLabels: labels.length, idToLabel: labels });
  await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: flags.adapter_config! }, name);
  console.log(model.adapterSummary());

  // 4. Train and evaluate.
  const trainerDir = join(outputDir, 'trainer');
  await rm(trainerDir, { recursive: true, force: true }); // a fresh run each time
  const maxLen = num('max_seq_length') ?? 64;
  const trainer = new AdapterTrainer({
    model,
    args: {
      outputDir: trainerDir,
      learningRate: num('learning_rate') ?? 1e-3,
      numTrainEpochs: num('num_train_epochs') ?? 1,
      perDeviceTrainBatchSize: num('batch_size') ?? 32,
      perDeviceEvalBatchSize: 64,
      warmupRatio: 0.06,
      seed: num('seed') ?? 42,
      evalStrategy: 'epoch',
      saveStrategy: 'no',
      loggingSteps: 25,
    },
    trainDataset: tokenizeExamples(tokenizer, train, { maxSeqLength: maxLen }),
    evalDataset: tokenizeExamples(tokenizer, validation, { maxSeqLength: maxLen }),
    dataCollator: paddingCollator({ padTokenId: tokenizer.padTokenId }),
    computeMetrics: metricsFor(labels),
  });
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const result = await trainer.train(); // evaluates after every epoch
  const trainSeconds = (performance.now() - t0) / 1000;
  const trainCpu = cpuSeconds() - c0;
  // The last epoch's evaluation is the final one (no need to run it again).
  const metrics = trainer.state.logHistory.filter((e) => 'eval_accuracy' in e).at(-1)!;
  await trainer.saveModel(); // <trainer dir>/custom/: adapter_config.json, adapter.safetensors, head_config.json, model_head.safetensors

  const summary = {
    date: new Date().toISOString(),
    backend: backend.name,
    adapter_config: flags.adapter_config,
    train_file: trainFile,
    validation_file: validationFile,
    labels,
    train_examples: train.length,
    validation_examples: validation.length,
    steps: result.globalStep,
    train_seconds: Number(trainSeconds.toFixed(1)),
    train_cpu_seconds: Number(trainCpu.toFixed(1)),
    total_seconds: Number(process.uptime().toFixed(1)),
    total_cpu_seconds: Number(cpuSeconds().toFixed(1)),
    train_loss: Number(result.trainingLoss.toFixed(4)),
    accuracy: Number(metrics.eval_accuracy!.toFixed(4)),
    macro_f1: Number(metrics.eval_macro_f1!.toFixed(4)),
    recall: Object.fromEntries(labels.map((l) => [l, Number((metrics[`eval_recall_${l}`] ?? NaN).toFixed(4))])),
  };
  await writeFile(join(outputDir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`accuracy ${(summary.accuracy * 100).toFixed(1)}%, macro-F1 ${(summary.macro_f1 * 100).toFixed(1)}% on ${validation.length} examples; trained (with per-epoch evaluation) in ${trainSeconds.toFixed(0)} s wall, ${trainCpu.toFixed(0)} s CPU`);
  console.log(`recall by class: ${labels.map((l) => `${l} ${((summary.recall[l] ?? NaN) * 100).toFixed(1)}%`).join(', ')}`);
  console.log(`adapter + head saved in ${join(trainerDir, name)}; results in ${join(outputDir, 'results.json')}`);
  trainer.dispose();
  model.dispose();
}

await main();
