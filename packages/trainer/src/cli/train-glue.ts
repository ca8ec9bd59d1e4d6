import { AutoAdapterModel, type AdapterModel } from '@adapterkit/core';
import { setupAdapterTraining } from '../args/adapter-arguments.js';
import { selectBackend } from '../backend/select.js';
import { paddingCollator } from '../data/collator.js';
import { tokenizeExamples, type TokenizerLike } from '../data/features.js';
import { GLUE_TASKS, glueTask, inferLabels, inferTextColumns, loadGlueSplit, rowsToExamples, type TextExample } from '../data/glue.js';
import { readTable } from '../data/readers.js';
import { glueComputeMetrics } from '../metrics/glue-metrics.js';
import { AdapterTrainer } from '../trainer/adapter-trainer.js';
import {
  COMMON_FLAGS,
  checkDataFlags,
  dataDirOf,
  defaultModelPath,
  loadPlugins,
  printMetrics,
  resumePoint,
  trainingArgumentsFromFlags,
  writeResults,
  type CliIo,
} from './common.js';
import type { Command } from './command.js';
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';

/** Flags of `adapterkit train-glue` (run_glue.py). */
export const GLUE_FLAGS: FlagSpec[] = [
  { name: 'task_name', type: 'string', group: 'model and data', help: 'GLUE task (files from --data_dir when no --train_file)', choices: Object.keys(GLUE_TASKS) },
  ...COMMON_FLAGS,
];

const DESCRIPTION = `Trains an adapter and a classification head on a GLUE task or your own CSV/TSV/JSON files, like
adapters' examples/pytorch/text-classification/run_glue.py. The shared data has: ${(Object.values(GLUE_TASKS)).filter((t) => t.sharedData).map((t) => `${t.name} (${t.sharedData!.note})`).join('; ')}.
Example: adapterkit train-glue --task_name sst2 --do_train --do_eval --train_adapter --max_train_samples 2000 --output_dir out/sst2`;

interface LoadedData {
  train?: TextExample[];
  eval?: TextExample[];
  labels: readonly string[];
  isRegression: boolean;
  metrics: ReturnType<typeof glueTask>['metrics'];
}

async function loadData(f: FlagValues): Promise<LoadedData> {
  const task = f.task_name as string | undefined;
  const trainFile = f.train_file as string | undefined;
  const evalFile = f.validation_file as string | undefined;
  if (!task && !trainFile && !evalFile) throw new UsageError('give --task_name or --train_file / --validation_file');
  const nTrain = f.max_train_samples as number | undefined;
  const nEval = f.max_eval_samples as number | undefined;
  if (task && !trainFile && !evalFile) {
    const t = glueTask(task);
    const dir = dataDirOf(f);
    return {
      train: f.do_train ? await loadGlueSplit(t.name, 'train', dir, nTrain) : undefined,
      eval: f.do_eval ? await loadGlueSplit(t.name, 'validation', dir, nEval) : undefined,
      labels: t.labels,
      isRegression: t.isRegression,
      metrics: t.metrics,
    };
  }
  // Custom files: columns and labels as run_glue.py infers them (a task name, if given, fixes labels and metrics).
  const trainRows = trainFile ? await readTable(trainFile) : undefined;
  const evalRows = evalFile ? await readTable(evalFile) : undefined;
  const sample = trainRows ?? evalRows!;
  if (sample.length === 0) throw new Error(`${trainFile ?? evalFile} has no rows`);
  const t = task ? glueTask(task) : undefined;
  const inferred = t ? { labels: [...t.labels], isRegression: t.isRegression } : inferLabels(sample);
  const columns = t && Object.keys(sample[0]!).includes(t.textColumns[0]) ? t.textColumns : inferTextColumns(Object.keys(sample[0]!));
  const mapping = { textColumns: columns, labels: inferred.labels, isRegression: inferred.isRegression };
  const limit = <T>(xs: T[] | undefined, n: number | undefined): T[] | undefined => (xs && n !== undefined ? xs.slice(0, n) : xs);
  return {
    train: f.do_train && trainRows ? rowsToExamples(limit(trainRows, nTrain)!, mapping, trainFile) : undefined,
    eval: f.do_eval && evalRows ? rowsToExamples(limit(evalRows, nEval)!, mapping, evalFile) : undefined,
    labels: inferred.labels,
    isRegression: inferred.isRegression,
    metrics: t?.metrics ?? (inferred.isRegression ? ['pearson', 'spearmanr'] : ['accuracy']),
  };
}

/** `adapterkit train-glue`: returns the exit code. */
async function trainGlue(f: FlagValues, io: CliIo): Promise<number> {
  checkDataFlags(f);
  const args = trainingArgumentsFromFlags(f);
  if (!f.do_train && !f.do_eval) throw new UsageError('nothing to do: add --do_train and/or --do_eval');
  if (!f.train_adapter && !f.load_adapter) throw new UsageError('adapterkit trains adapters: add --train_adapter (full fine-tuning is not supported by this CLI)');
  const resume = await resumePoint(f, io);
  const backend = await selectBackend(f.backend as string);
  if (backend.note) io.out(backend.note);
  const missingPlugins = await loadPlugins();
  const data = await loadData(f);
  if (f.do_train && !data.train?.length) throw new Error('no training examples (check --train_file / --task_name and --max_train_samples)');
  if (f.do_eval && !data.eval?.length) throw new Error('no evaluation examples (check --validation_file / --task_name and --max_eval_samples)');
  const modelPath = (f.model_name_or_path as string | undefined) ?? (await defaultModelPath());
  const model = (await AutoAdapterModel.fromPretrained(modelPath, { backend: backend.name, onWarning: (m) => io.err(m) })) as AdapterModel;
  const tokenizer = model.tokenizer as TokenizerLike | undefined;
  if (!tokenizer || typeof (tokenizer as { encode?: unknown }).encode !== 'function') throw new Error(`${modelPath} has no tokenizer.json`);
  const name = (f.task_name as string | undefined) ?? 'glue';
  const numLabels = data.isRegression ? 1 : data.labels.length;
  model.addClassificationHead(name, { numLabels, idToLabel: data.isRegression ? undefined : [...data.labels], overwriteOk: true });
  try {
    await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: f.adapter_config as string, loadAdapter: (f.load_adapter as string | undefined) ?? '', loadLangAdapter: (f.load_lang_adapter as string | undefined) ?? null, langAdapterConfig: (f.lang_adapter_config as string | undefined) ?? null }, name);
  } catch (e) {
    if (/unknown adapter config|no adapter method registered/.test((e as Error).message) && missingPlugins.length) {
      throw new Error(`${(e as Error).message}\n  (plugins that could not be loaded: ${missingPlugins.join('; ')})`);
    }
    throw e;
  }
  model.activeHead = name;
  io.out(model.adapterSummary());
  const maxLen = f.max_seq_length as number;
  const trainer = new AdapterTrainer({
    model,
    args,
    trainDataset: data.train ? tokenizeExamples(tokenizer, data.train, { maxSeqLength: maxLen }) : undefined,
    evalDataset: data.eval ? tokenizeExamples(tokenizer, data.eval, { maxSeqLength: maxLen }) : undefined,
    dataCollator: paddingCollator({ padTokenId: tokenizer.padTokenId ?? 0, regression: data.isRegression }),
    computeMetrics: glueComputeMetrics({ metrics: data.metrics, isRegression: data.isRegression }),
    print: io.out,
  });
  if (f.do_train) {
    const result = await trainer.train({ resumeFromCheckpoint: resume });
    await trainer.saveModel();
    const metrics = { ...result.metrics, train_samples: data.train!.length };
    printMetrics(io, 'train', metrics);
    await writeResults(args.outputDir, 'train_results', metrics);
  }
  if (f.do_eval) {
    const metrics = { ...(await trainer.evaluate()), eval_samples: data.eval!.length };
    printMetrics(io, 'eval', metrics);
    await writeResults(args.outputDir, 'eval_results', metrics);
  }
  return 0;
}

/** `adapterkit train-glue` (run_glue.py). */
export const trainGlueCommand: Command = {
  name: 'train-glue',
  summary: 'train an adapter + classification head on a GLUE task or CSV/TSV/JSON files (run_glue.py)',
  description: DESCRIPTION,
  flags: GLUE_FLAGS,
  run: trainGlue,
};
