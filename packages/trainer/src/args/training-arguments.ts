import { ArgumentError } from './errors.js';

/** When to evaluate or save: never, at the end of every epoch, or every N optimizer steps. */
export type IntervalStrategy = 'no' | 'epoch' | 'steps';

/** Learning-rate schedules (HF `lr_scheduler_type` names). */
export type LrSchedulerType = 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';

/**
 * Training hyperparameters: the camelCase names of Hugging Face
 * `TrainingArguments`, with the same meaning. Defaults follow HF except
 * `learningRate` (1e-4, the usual adapter rate instead of HF's 5e-5) and
 * `loggingSteps` (50 instead of 500, as adapter runs are short).
 */
export interface TrainingArguments {
  /** Where checkpoints, logs, curves and the final adapters go. Required. */
  outputDir: string;
  /** Allow writing into a non-empty outputDir without resuming (the CLI checks it; default false). */
  overwriteOutputDir: boolean;
  /** Peak learning rate of AdamW (default 1e-4). */
  learningRate: number;
  /** Epochs to train (may be fractional; default 3). Ignored when maxSteps > 0. */
  numTrainEpochs: number;
  /** Total optimizer steps; overrides numTrainEpochs when > 0 (default -1). */
  maxSteps: number;
  /** Examples per training batch (default 8). */
  perDeviceTrainBatchSize: number;
  /** Examples per evaluation batch (default 8). */
  perDeviceEvalBatchSize: number;
  /** Batches whose gradients are summed before one optimizer step (default 1). */
  gradientAccumulationSteps: number;
  /** Linear warmup steps; wins over warmupRatio when > 0 (default 0). */
  warmupSteps: number;
  /** Warmup as a fraction of the total steps, in [0, 1) (default 0). */
  warmupRatio: number;
  /** Schedule after warmup (default 'linear'). 'constant' ignores warmup, as HF. */
  lrSchedulerType: LrSchedulerType;
  /** Decoupled weight decay of AdamW for weights other than biases and norms (default 0). */
  weightDecay: number;
  /** AdamW β1 (0.9), β2 (0.999), ε (1e-8). */
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Clip the global gradient norm to this (default 1.0; 0 turns clipping off). */
  maxGradNorm: number;
  /** Seed of the global random stream (dropout, init) and of data shuffling (default 42). */
  seed: number;
  /** When to evaluate (default 'no'). */
  evalStrategy: IntervalStrategy;
  /** Evaluate every N steps with evalStrategy 'steps' (default: loggingSteps). */
  evalSteps?: number;
  /** When to write a checkpoint (default 'steps'). */
  saveStrategy: IntervalStrategy;
  /** Checkpoint every N steps with saveStrategy 'steps' (default 500). */
  saveSteps: number;
  /** Keep at most this many checkpoints (the best one is never deleted). */
  saveTotalLimit?: number;
  /** Reload the best checkpoint's adapters and heads after training (default false). */
  loadBestModelAtEnd: boolean;
  /** Metric that decides "best" ('loss', 'accuracy', … with or without 'eval_'); default 'loss' when needed. */
  metricForBestModel?: string;
  /** Whether a larger metric is better (default: false for losses, true otherwise). */
  greaterIsBetter?: boolean;
  /** Stop after this many evaluations without improvement (adds an EarlyStoppingCallback). */
  earlyStoppingPatience?: number;
  /** Minimum improvement that resets the patience counter (default 0). */
  earlyStoppingThreshold: number;
  /** Log training loss, lr and throughput every N steps (default 50). */
  loggingSteps: number;
  /** Sort examples by length within shuffled chunks so batches pad less (default false). */
  groupByLength: boolean;
  /** Drop the last incomplete training batch (default false). */
  dataloaderDropLast: boolean;
  /** Backend to train on ('cpu', 'cpu-ref', 'webgpu', 'cuda'); default: the model's backend. */
  backend?: string;
  /** Turn the progress bar off (it is off anyway when stderr is not a TTY). */
  disableProgressBar: boolean;
  /** Write training_curves.svg into outputDir (default true). */
  plotCurves: boolean;
}

/** The defaults (`outputDir` has none). */
export const TRAINING_DEFAULTS: Omit<TrainingArguments, 'outputDir'> = {
  overwriteOutputDir: false,
  learningRate: 1e-4,
  numTrainEpochs: 3,
  maxSteps: -1,
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  gradientAccumulationSteps: 1,
  warmupSteps: 0,
  warmupRatio: 0,
  lrSchedulerType: 'linear',
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1.0,
  seed: 42,
  evalStrategy: 'no',
  saveStrategy: 'steps',
  saveSteps: 500,
  loadBestModelAtEnd: false,
  earlyStoppingThreshold: 0,
  loggingSteps: 50,
  groupByLength: false,
  dataloaderDropLast: false,
  disableProgressBar: false,
  plotCurves: true,
};

const STRATEGIES: readonly IntervalStrategy[] = ['no', 'epoch', 'steps'];
const SCHEDULERS: readonly LrSchedulerType[] = ['linear', 'cosine', 'constant', 'constant_with_warmup'];

const KNOWN_FIELDS = new Set<string>(['outputDir', ...Object.keys(TRAINING_DEFAULTS), 'evalSteps', 'saveTotalLimit', 'metricForBestModel', 'greaterIsBetter', 'earlyStoppingPatience', 'backend']);

function positiveInt(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(field, `must be a positive integer, got ${v}`);
}

function finiteNonNegative(field: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ArgumentError(field, `must be a finite number ≥ 0, got ${v}`);
}

function oneOf<T extends string>(field: string, v: T, allowed: readonly T[]): void {
  if (!allowed.includes(v)) throw new ArgumentError(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${String(v)}'`);
}

/** The metric key as it appears in evaluation results: 'accuracy' → 'eval_accuracy'. */
export function evalMetricKey(metric: string): string {
  return metric.startsWith('eval_') ? metric : `eval_${metric}`;
}

/**
 * Fills defaults and validates. Every error is an `ArgumentError` naming the
 * field. Unknown fields are errors too (a typo would otherwise be ignored).
 */
export function trainingArguments(input: Partial<TrainingArguments> & { outputDir: string }): TrainingArguments {
  for (const k of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(k)) throw new ArgumentError(k, `unknown training argument; known: ${[...KNOWN_FIELDS].join(', ')}`);
  }
  const a: TrainingArguments = { ...TRAINING_DEFAULTS, ...stripUndefined(input) } as TrainingArguments;
  if (typeof a.outputDir !== 'string' || a.outputDir === '') throw new ArgumentError('outputDir', 'is required (a directory path)');
  if (!(a.learningRate > 0) || !Number.isFinite(a.learningRate)) throw new ArgumentError('learningRate', `must be a finite number > 0, got ${a.learningRate}`);
  if (!(a.numTrainEpochs > 0) || !Number.isFinite(a.numTrainEpochs)) {
    if (!(a.maxSteps > 0)) throw new ArgumentError('numTrainEpochs', `must be a finite number > 0 (or set maxSteps), got ${a.numTrainEpochs}`);
  }
  if (!Number.isInteger(a.maxSteps) || (a.maxSteps < 1 && a.maxSteps !== -1 && a.maxSteps !== 0)) throw new ArgumentError('maxSteps', `must be a positive integer, or -1 for "use numTrainEpochs", got ${a.maxSteps}`);
  positiveInt('perDeviceTrainBatchSize', a.perDeviceTrainBatchSize);
  positiveInt('perDeviceEvalBatchSize', a.perDeviceEvalBatchSize);
  positiveInt('gradientAccumulationSteps', a.gradientAccumulationSteps);
  if (!Number.isInteger(a.warmupSteps) || a.warmupSteps < 0) throw new ArgumentError('warmupSteps', `must be an integer ≥ 0, got ${a.warmupSteps}`);
  if (!(a.warmupRatio >= 0 && a.warmupRatio < 1)) throw new ArgumentError('warmupRatio', `must be in [0, 1), got ${a.warmupRatio}`);
  oneOf('lrSchedulerType', a.lrSchedulerType, SCHEDULERS);
  finiteNonNegative('weightDecay', a.weightDecay);
  if (!(a.adamBeta1 >= 0 && a.adamBeta1 < 1)) throw new ArgumentError('adamBeta1', `must be in [0, 1), got ${a.adamBeta1}`);
  if (!(a.adamBeta2 >= 0 && a.adamBeta2 < 1)) throw new ArgumentError('adamBeta2', `must be in [0, 1), got ${a.adamBeta2}`);
  finiteNonNegative('adamEpsilon', a.adamEpsilon);
  finiteNonNegative('maxGradNorm', a.maxGradNorm);
  if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff) throw new ArgumentError('seed', `must be an integer in [0, 2^32), got ${a.seed}`);
  oneOf('evalStrategy', a.evalStrategy, STRATEGIES);
  oneOf('saveStrategy', a.saveStrategy, STRATEGIES);
  positiveInt('loggingSteps', a.loggingSteps);
  if (a.evalSteps !== undefined) positiveInt('evalSteps', a.evalSteps);
  positiveInt('saveSteps', a.saveSteps);
  if (a.saveTotalLimit !== undefined) positiveInt('saveTotalLimit', a.saveTotalLimit);
  if (a.earlyStoppingPatience !== undefined) positiveInt('earlyStoppingPatience', a.earlyStoppingPatience);
  finiteNonNegative('earlyStoppingThreshold', a.earlyStoppingThreshold);
  if (a.backend !== undefined && (typeof a.backend !== 'string' || a.backend === '')) throw new ArgumentError('backend', `must be a backend name such as 'cpu' or 'cpu-ref', got ${String(a.backend)}`);
  if (a.evalStrategy === 'steps' && a.evalSteps === undefined) a.evalSteps = a.loggingSteps;
  const needsBest = a.loadBestModelAtEnd || a.earlyStoppingPatience !== undefined;
  if (needsBest && a.metricForBestModel === undefined) a.metricForBestModel = 'loss';
  if (a.metricForBestModel !== undefined) {
    if (typeof a.metricForBestModel !== 'string' || a.metricForBestModel === '') throw new ArgumentError('metricForBestModel', 'must be a metric name such as "loss" or "accuracy"');
    a.greaterIsBetter ??= !['loss', 'eval_loss'].includes(a.metricForBestModel);
  }
  if (a.loadBestModelAtEnd) {
    // As HF: the best checkpoint must exist, so saving and evaluating must happen at the same points.
    if (a.evalStrategy === 'no') throw new ArgumentError('loadBestModelAtEnd', "needs evalStrategy 'epoch' or 'steps' (it is 'no')");
    if (a.saveStrategy !== a.evalStrategy) throw new ArgumentError('loadBestModelAtEnd', `needs saveStrategy equal to evalStrategy ('${a.evalStrategy}'), got '${a.saveStrategy}'`);
    if (a.evalStrategy === 'steps' && a.saveSteps % a.evalSteps! !== 0) throw new ArgumentError('saveSteps', `must be a multiple of evalSteps (${a.evalSteps}) with loadBestModelAtEnd, got ${a.saveSteps}`);
  }
  if (a.earlyStoppingPatience !== undefined && a.evalStrategy === 'no') throw new ArgumentError('earlyStoppingPatience', "needs evaluation: set evalStrategy to 'epoch' or 'steps'");
  return a;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The warmup step count: warmupSteps when > 0, else ceil(totalSteps · warmupRatio) (HF get_warmup_steps). */
export function warmupStepsFor(args: Pick<TrainingArguments, 'warmupSteps' | 'warmupRatio'>, totalSteps: number): number {
  return args.warmupSteps > 0 ? args.warmupSteps : Math.ceil(totalSteps * args.warmupRatio);
}

/** HF-style snake_case copy of the arguments (written to training_args.json). */
export function trainingArgumentsToJson(a: TrainingArguments): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}
