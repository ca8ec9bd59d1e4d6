import { ArgumentError } from '../args/errors.js';
import { trainingArguments, type TrainingArguments } from '../args/training-arguments.js';
import { BACKEND_CHOICES } from '../backend/select.js';
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';

/** What a subcommand writes to; tests pass their own. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const MODEL = 'model and data';
const TRAIN = 'training';
const ADAPTER = 'adapters';
const SCHED = 'evaluation, saving and logging';

/** Flags shared by every training subcommand (HF TrainingArguments + adapters' AdapterArguments). */
export const COMMON_FLAGS: FlagSpec[] = [
  { name: 'model_name_or_path', type: 'string', group: MODEL, help: 'model folder (config.json, model.safetensors, tokenizer.json) or .gguf file', defaultText: 'the embedded all-MiniLM-L6-v2' },
  { name: 'train_file', type: 'string', group: MODEL, help: 'training data (.csv, .tsv, .json, .jsonl; .txt for masked LM)' },
  { name: 'validation_file', type: 'string', group: MODEL, help: 'evaluation data, same formats' },
  { name: 'data_dir', type: 'string', group: MODEL, help: 'root of the shared data folder (GLUE/wikitext files)', defaultText: '$ADAPTERKIT_DATA_DIR or /work/shared/data' },
  { name: 'max_seq_length', type: 'int', group: MODEL, help: 'truncate inputs to this many tokens', default: 128 },
  { name: 'max_train_samples', type: 'int', group: MODEL, help: 'use only the first N training examples' },
  { name: 'max_eval_samples', type: 'int', group: MODEL, help: 'use only the first N evaluation examples' },
  { name: 'output_dir', type: 'string', group: TRAIN, help: 'where checkpoints, logs, curves and adapters go (required)' },
  { name: 'overwrite_output_dir', type: 'boolean', group: TRAIN, help: 'train in a non-empty output_dir without resuming from its checkpoints' },
  { name: 'resume_from_checkpoint', type: 'string', group: TRAIN, help: 'checkpoint folder to resume from' },
  { name: 'do_train', type: 'boolean', group: TRAIN, help: 'run training' },
  { name: 'do_eval', type: 'boolean', group: TRAIN, help: 'evaluate on the validation set' },
  { name: 'learning_rate', type: 'number', group: TRAIN, help: 'peak AdamW learning rate', default: 1e-4 },
  { name: 'num_train_epochs', type: 'number', group: TRAIN, help: 'epochs (may be fractional)', default: 3 },
  { name: 'max_steps', type: 'int', group: TRAIN, help: 'total optimizer steps; overrides num_train_epochs when > 0', default: -1 },
  { name: 'per_device_train_batch_size', type: 'int', group: TRAIN, help: 'training batch size', default: 8 },
  { name: 'per_device_eval_batch_size', type: 'int', group: TRAIN, help: 'evaluation batch size', default: 8 },
  { name: 'gradient_accumulation_steps', type: 'int', group: TRAIN, help: 'batches per optimizer step', default: 1 },
  { name: 'warmup_steps', type: 'int', group: TRAIN, help: 'linear warmup steps', default: 0 },
  { name: 'warmup_ratio', type: 'number', group: TRAIN, help: 'warmup as a fraction of all steps', default: 0 },
  { name: 'lr_scheduler_type', type: 'string', group: TRAIN, help: 'schedule after warmup', default: 'linear', choices: ['linear', 'cosine', 'constant', 'constant_with_warmup'] },
  { name: 'weight_decay', type: 'number', group: TRAIN, help: 'AdamW weight decay (not on biases and norms)', default: 0 },
  { name: 'max_grad_norm', type: 'number', group: TRAIN, help: 'clip the gradient norm (0: off)', default: 1 },
  { name: 'seed', type: 'int', group: TRAIN, help: 'random seed (init, dropout, shuffling)', default: 42 },
  { name: 'group_by_length', type: 'boolean', group: TRAIN, help: 'batch examples of similar length together' },
  { name: 'backend', type: 'string', group: TRAIN, help: "compute backend ('auto' picks the fast native CPU backend when available)", default: 'auto', choices: BACKEND_CHOICES },
  { name: 'train_adapter', type: 'boolean', group: ADAPTER, help: 'train an adapter instead of the full model (required by this CLI)' },
  { name: 'adapter_config', type: 'string', group: ADAPTER, help: 'adapter config name or string (e.g. "seq_bn[reduction_factor=8]", "lora|prefix_tuning") or a JSON file', default: 'seq_bn' },
  { name: 'load_adapter', type: 'string', group: ADAPTER, help: 'saved adapter folder to continue training' },
  { name: 'load_lang_adapter', type: 'string', group: ADAPTER, help: 'saved language adapter folder to stack below the task adapter' },
  { name: 'lang_adapter_config', type: 'string', group: ADAPTER, help: 'config of the language adapter' },
  { name: 'eval_strategy', type: 'string', group: SCHED, help: 'when to evaluate', defaultText: 'epoch with --do_eval, else no', choices: ['no', 'epoch', 'steps'], aliases: ['evaluation_strategy'] },
  { name: 'eval_steps', type: 'int', group: SCHED, help: 'evaluate every N steps (eval_strategy steps)' },
  { name: 'save_strategy', type: 'string', group: SCHED, help: 'when to checkpoint', default: 'steps', choices: ['no', 'epoch', 'steps'] },
  { name: 'save_steps', type: 'int', group: SCHED, help: 'checkpoint every N steps', default: 500 },
  { name: 'save_total_limit', type: 'int', group: SCHED, help: 'keep at most N checkpoints (never the best)' },
  { name: 'load_best_model_at_end', type: 'boolean', group: SCHED, help: 'reload the best checkpoint after training' },
  { name: 'metric_for_best_model', type: 'string', group: SCHED, help: 'metric deciding the best checkpoint (e.g. accuracy)', default: 'loss' },
  { name: 'greater_is_better', type: 'boolean', group: SCHED, help: 'a larger metric is better (without it: true except for losses)' },
  { name: 'early_stopping_patience', type: 'int', group: SCHED, help: 'stop after N evaluations without improvement' },
  { name: 'logging_steps', type: 'int', group: SCHED, help: 'log loss, lr and throughput every N steps', default: 50 },
  { name: 'disable_tqdm', type: 'boolean', group: SCHED, help: 'no progress bar (plain log lines instead)' },
  { name: 'help', type: 'boolean', group: 'other', help: 'show this help', aliases: ['h'] },
];

/** Flag name (snake) of a TrainingArguments field, for error messages. */
function flagOf(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
}

/**
 * TrainingArguments from the flags, validated; an invalid value is a
 * UsageError naming the flag.
 */
export function trainingArgumentsFromFlags(f: FlagValues): TrainingArguments {
  if (typeof f.output_dir !== 'string') throw new UsageError('--output_dir is required');
  const doEval = f.do_eval === true;
  const evalStrategy = (f.eval_strategy as TrainingArguments['evalStrategy'] | undefined) ?? (doEval ? 'epoch' : 'no');
  try {
    return trainingArguments({
      outputDir: f.output_dir,
      overwriteOutputDir: f.overwrite_output_dir as boolean,
      learningRate: f.learning_rate as number,
      numTrainEpochs: f.num_train_epochs as number,
      maxSteps: f.max_steps as number,
      perDeviceTrainBatchSize: f.per_device_train_batch_size as number,
      perDeviceEvalBatchSize: f.per_device_eval_batch_size as number,
      gradientAccumulationSteps: f.gradient_accumulation_steps as number,
      warmupSteps: f.warmup_steps as number,
      warmupRatio: f.warmup_ratio as number,
      lrSchedulerType: f.lr_scheduler_type as TrainingArguments['lrSchedulerType'],
      weightDecay: f.weight_decay as number,
      maxGradNorm: f.max_grad_norm as number,
      seed: f.seed as number,
      evalStrategy,
      evalSteps: f.eval_steps as number | undefined,
      saveStrategy: f.save_strategy as TrainingArguments['saveStrategy'],
      saveSteps: f.save_steps as number,
      saveTotalLimit: f.save_total_limit as number | undefined,
      loadBestModelAtEnd: f.load_best_model_at_end as boolean,
      metricForBestModel: f.load_best_model_at_end || f.early_stopping_patience !== undefined ? (f.metric_for_best_model as string) : undefined,
      greaterIsBetter: f.greater_is_better ? true : undefined,
      earlyStoppingPatience: f.early_stopping_patience as number | undefined,
      loggingSteps: f.logging_steps as number,
      groupByLength: f.group_by_length as boolean,
      disableProgressBar: f.disable_tqdm as boolean,
    });
  } catch (e) {
    if (e instanceof ArgumentError) throw new UsageError(`${flagOf(e.field)}: ${e.message.slice(e.field.length + 2)}`);
    throw e;
  }
}

/** Checks sample limits and the sequence length. */
export function checkDataFlags(f: FlagValues): void {
  for (const k of ['max_train_samples', 'max_eval_samples', 'max_seq_length'] as const) {
    const v = f[k];
    if (v !== undefined && (typeof v !== 'number' || v < 1)) throw new UsageError(`--${k}: must be a positive integer, got ${v}`);
  }
  if ((f.max_seq_length as number) < 2) throw new UsageError(`--max_seq_length: must be at least 2, got ${f.max_seq_length}`);
}

/** The shared data folder: --data_dir, $ADAPTERKIT_DATA_DIR, else /work/shared/data. */
export function dataDirOf(f: FlagValues): string {
  return (f.data_dir as string | undefined) ?? process.env.ADAPTERKIT_DATA_DIR ?? '/work/shared/data';
}

/**
 * The embedded default model: models/all-MiniLM-L6-v2 found by walking up
 * from this module (the repository's models folder), or
 * $ADAPTERKIT_DEFAULT_MODEL.
 */
export async function defaultModelPath(): Promise<string> {
  if (process.env.ADAPTERKIT_DEFAULT_MODEL) return process.env.ADAPTERKIT_DEFAULT_MODEL;
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { stat } = await import('node:fs/promises');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'models', 'all-MiniLM-L6-v2');
    if (await stat(join(candidate, 'config.json')).then(() => true, () => false)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('the default model models/all-MiniLM-L6-v2 was not found above the CLI; pass --model_name_or_path or set ADAPTERKIT_DEFAULT_MODEL');
}

/**
 * Loads the adapter method plugins (and composition, when installed) so
 * config names like 'seq_bn' and 'lora' resolve. Returns the packages that
 * could not be loaded, with reasons (reported only if a config then fails).
 */
export async function loadPlugins(): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of ['@adapterkit/method-bottleneck', '@adapterkit/method-lora', '@adapterkit/method-prefix', '@adapterkit/composition']) {
    try {
      await import(/* @vite-ignore */ pkg);
    } catch (e) {
      missing.push(`${pkg} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return missing;
}

/**
 * What to do with an existing output folder, as run_glue.py: resume from
 * its last checkpoint, or refuse a non-empty folder without checkpoints
 * unless --overwrite_output_dir.
 */
export async function resumePoint(f: FlagValues, io: CliIo): Promise<string | undefined> {
  if (typeof f.resume_from_checkpoint === 'string') return f.resume_from_checkpoint;
  if (!f.do_train || f.overwrite_output_dir) return undefined;
  const { readdir } = await import('node:fs/promises');
  const { lastCheckpoint } = await import('../trainer/checkpoint-dir.js');
  const dir = f.output_dir as string;
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length === 0) return undefined;
  const last = await lastCheckpoint(dir);
  if (!last) throw new Error(`output directory ${dir} already exists and is not empty; use --overwrite_output_dir to train there anyway`);
  io.out(`checkpoint detected, resuming training at ${last}; to avoid this, change --output_dir or add --overwrite_output_dir to train from scratch`);
  return last;
}

/** Writes <output_dir>/<name>.json with metrics (HF train_results.json / eval_results.json / all_results.json). */
export async function writeResults(dir: string, name: string, metrics: Record<string, number>): Promise<void> {
  const { join } = await import('node:path');
  const { mkdir, readFile } = await import('node:fs/promises');
  const { writeTextAtomic } = await import('../logging/jsonl-log.js');
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, `${name}.json`), `${JSON.stringify(metrics, null, 2)}\n`);
  const allPath = join(dir, 'all_results.json');
  const all = await readFile(allPath, 'utf8').then((t) => JSON.parse(t) as Record<string, number>, () => ({}));
  await writeTextAtomic(allPath, `${JSON.stringify({ ...all, ...metrics }, null, 2)}\n`);
}

/** Prints metrics one per line, as HF's log_metrics. */
export function printMetrics(io: CliIo, split: string, metrics: Record<string, number>): void {
  io.out(`***** ${split} metrics *****`);
  const w = Math.max(...Object.keys(metrics).map((k) => k.length));
  for (const [k, v] of Object.entries(metrics)) io.out(`  ${k.padEnd(w)} = ${Number.isInteger(v) ? v : Number(v.toPrecision(6))}`);
}
