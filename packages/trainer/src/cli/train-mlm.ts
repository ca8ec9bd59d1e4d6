import { AutoAdapterModel, type AdapterModel } from '@adapterkit/core';
import { setupAdapterTraining } from '../args/adapter-arguments.js';
import { selectBackend } from '../backend/select.js';
import type { TokenizerLike } from '../data/features.js';
import { mlmCollator, mlmFeatures } from '../data/mlm.js';
import { formatOf, readLines, readTable } from '../data/readers.js';
import { AdapterTrainer } from '../trainer/adapter-trainer.js';
import type { Command } from './command.js';
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
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';

/** Flags of `adapterkit train-mlm` (run_mlm.py). */
export const MLM_FLAGS: FlagSpec[] = [
  { name: 'dataset_name', type: 'string', group: 'model and data', help: 'name of the corpus; also the adapter name', default: 'mlm' },
  { name: 'line_by_line', type: 'boolean', group: 'model and data', help: 'one example per line instead of concatenated blocks of max_seq_length' },
  { name: 'mlm_probability', type: 'number', group: 'model and data', help: 'fraction of tokens to mask', default: 0.15 },
  ...COMMON_FLAGS,
];

const DESCRIPTION = `Trains a (language) adapter with masked-language modelling, like adapters' run_mlm.py: 15% of the
tokens are selected (80% [MASK], 10% random, 10% kept). Text files are read line by line; CSV/JSON files
use their 'text' column. Without --train_file, wikitext-2 from --data_dir is used (valid.txt to train,
test.txt to evaluate). Reports eval_loss and perplexity.
Example: adapterkit train-mlm --do_train --do_eval --train_adapter --adapter_config seq_bn_inv --max_steps 200 --output_dir out/mlm`;

async function readCorpus(path: string, limit?: number): Promise<string[]> {
  let format: string;
  try {
    format = formatOf(path);
  } catch {
    format = 'txt';
  }
  if (path.toLowerCase().endsWith('.txt') || format === 'txt') return readLines(path, { limit });
  const rows = await readTable(path, { limit });
  if (rows.length === 0) return [];
  const col = 'text' in rows[0]! ? 'text' : Object.keys(rows[0]!)[0]!;
  return rows.map((r) => String(r[col] ?? ''));
}

async function trainMlm(f: FlagValues, io: CliIo): Promise<number> {
  checkDataFlags(f);
  const args = trainingArgumentsFromFlags(f);
  const p = f.mlm_probability as number;
  if (!(p > 0 && p < 1)) throw new UsageError(`--mlm_probability: must be in (0, 1), got ${p}`);
  if (!f.do_train && !f.do_eval) throw new UsageError('nothing to do: add --do_train and/or --do_eval');
  if (!f.train_adapter && !f.load_adapter) throw new UsageError('adapterkit trains adapters: add --train_adapter (full fine-tuning is not supported by this CLI)');
  const resume = await resumePoint(f, io);
  const backend = await selectBackend(f.backend as string);
  if (backend.note) io.out(backend.note);
  await loadPlugins();
  const { join } = await import('node:path');
  const dir = dataDirOf(f);
  const trainFile = (f.train_file as string | undefined) ?? (f.validation_file ? undefined : join(dir, 'wikitext-2', 'valid.txt'));
  const evalFile = (f.validation_file as string | undefined) ?? (f.train_file ? undefined : join(dir, 'wikitext-2', 'test.txt'));
  const modelPath = (f.model_name_or_path as string | undefined) ?? (await defaultModelPath());
  const model = (await AutoAdapterModel.fromPretrained(modelPath, { backend: backend.name, onWarning: (m) => io.err(m) })) as AdapterModel;
  const tokenizer = model.tokenizer as TokenizerLike | undefined;
  if (!tokenizer || typeof (tokenizer as { encode?: unknown }).encode !== 'function') throw new Error(`${modelPath} has no tokenizer.json`);
  if (tokenizer.maskTokenId === undefined) throw new Error(`the tokenizer of ${modelPath} has no mask token`);
  const name = f.dataset_name as string;
  model.addMaskedLMHead(name, { overwriteOk: true });
  await setupAdapterTraining(model, { trainAdapter: true, adapterConfig: f.adapter_config as string, loadAdapter: (f.load_adapter as string | undefined) ?? '', loadLangAdapter: (f.load_lang_adapter as string | undefined) ?? null, langAdapterConfig: (f.lang_adapter_config as string | undefined) ?? null }, name);
  model.activeHead = name;
  io.out(model.adapterSummary());
  const opts = { maxSeqLength: f.max_seq_length as number, lineByLine: f.line_by_line as boolean };
  const limit = <T>(xs: T[], n: unknown): T[] => (typeof n === 'number' ? xs.slice(0, n) : xs);
  const train = f.do_train && trainFile ? limit(mlmFeatures(tokenizer, await readCorpus(trainFile), opts), f.max_train_samples) : undefined;
  const evalSet = f.do_eval && evalFile ? limit(mlmFeatures(tokenizer, await readCorpus(evalFile), opts), f.max_eval_samples) : undefined;
  if (f.do_train && !train?.length) throw new Error(`no training examples from ${trainFile} (text shorter than one block of ${opts.maxSeqLength} tokens?)`);
  if (f.do_eval && !evalSet?.length) throw new Error(`no evaluation examples from ${evalFile}`);
  const vocabSize = model.config.vocabSize;
  const trainer = new AdapterTrainer({
    model,
    args,
    trainDataset: train,
    evalDataset: evalSet,
    dataCollator: mlmCollator({ maskTokenId: tokenizer.maskTokenId, vocabSize, padTokenId: tokenizer.padTokenId ?? 0, mlmProbability: p }),
    print: io.out,
  });
  if (f.do_train) {
    const result = await trainer.train({ resumeFromCheckpoint: resume });
    await trainer.saveModel();
    const metrics = { ...result.metrics, train_samples: train!.length };
    printMetrics(io, 'train', metrics);
    await writeResults(args.outputDir, 'train_results', metrics);
  }
  if (f.do_eval) {
    const m = await trainer.evaluate();
    const metrics = { ...m, eval_samples: evalSet!.length, perplexity: Math.exp(m.eval_loss ?? NaN) };
    printMetrics(io, 'eval', metrics);
    await writeResults(args.outputDir, 'eval_results', metrics);
  }
  return 0;
}

/** `adapterkit train-mlm` (run_mlm.py). */
export const trainMlmCommand: Command = {
  name: 'train-mlm',
  summary: 'train a language adapter with masked-language modelling (run_mlm.py)',
  description: DESCRIPTION,
  flags: MLM_FLAGS,
  run: trainMlm,
};
