/**
 * @adapterkit/trainer — train adapters like Python's `AdapterTrainer`:
 * TrainingArguments, AdapterArguments + setupAdapterTraining, AdamW with
 * HF's parameter groups and schedules, evaluation and metrics, atomic
 * adapter-only checkpoints with exact resume, callbacks, data readers and
 * collators, progress/JSONL/SVG logging, and the `adapterkit` CLI.
 */
export { ArgumentError } from './args/errors.js';
export {
  TRAINING_DEFAULTS,
  trainingArguments,
  trainingArgumentsToJson,
  evalMetricKey,
  warmupStepsFor,
  type TrainingArguments,
  type IntervalStrategy,
  type LrSchedulerType,
} from './args/training-arguments.js';
export {
  ADAPTER_ARGUMENT_DEFAULTS,
  adapterArguments,
  resolveAdapterConfig,
  setupAdapterTraining,
  type AdapterArguments,
  type SetupAdapterTrainingOptions,
} from './args/adapter-arguments.js';

export { AdapterTrainer, type AdapterTrainerOptions, type TrainOptions, type TrainOutput } from './trainer/adapter-trainer.js';
export { EarlyStoppingCallback, isBetter, type TrainerCallback, type TrainerControl, type CallbackContext } from './trainer/callbacks.js';
export { NonFiniteError } from './trainer/errors.js';
export { evaluateModel, type EvaluateOptions } from './trainer/evaluate.js';
export { createSchedule, ConstantSchedule } from './trainer/schedule.js';
export { decayParameterNames, trainerParamGroups, type ParamGroups } from './trainer/param-groups.js';
export { gradNorm, clipGradients, type GradNormResult } from './trainer/grad-norm.js';
export { listCheckpoints, lastCheckpoint, checkpointStep, rotateCheckpoints, writeCheckpointDir, CHECKPOINT_PREFIX } from './trainer/checkpoint-dir.js';
export { saveAdapterWeights, loadAdapterWeights, type LoadedWeights } from './trainer/weights.js';
export { type TrainerState } from './trainer/state.js';

export { adapterHostOf, adapterApiOf, headsOf } from './model/access.js';
export type { TrainableModel, TrainerModelInputs, TrainerModelOutput } from './model/types.js';

export { parseDelimited, stripBom, type DelimitedOptions } from './data/delimited.js';
export { readTable, parseTable, readLines, formatOf, type Row, type TableFormat, type ReadTableOptions } from './data/readers.js';
export {
  GLUE_TASKS,
  glueTask,
  glueTasksInSharedData,
  loadGlueSplit,
  inferTextColumns,
  inferLabels,
  rowsToExamples,
  type GlueTask,
  type GlueTaskName,
  type GlueMetricName,
  type TextExample,
  type ExampleMapping,
} from './data/glue.js';
export { tokenizeExamples, specialTokensMaskOf, type Feature, type TokenizerLike, type TokenizeOptions } from './data/features.js';
export { disposeBatch, type Batch, type CollateContext, type DataCollator } from './data/batch.js';
export { paddingCollator, padHost, type PaddingCollatorOptions, type HostPadded } from './data/collator.js';
export { mlmCollator, mlmFeatures, IGNORE_INDEX, type MlmCollatorOptions, type MlmFeatureOptions } from './data/mlm.js';
export { epochOrder, batchesOf, epochSeed, batchSeed, type EpochOrderOptions } from './data/sampler.js';

export { accuracy, f1, matthewsCorrelation, argmaxRows, type F1Options } from './metrics/classification.js';
export { pearson, spearman, averageRanks } from './metrics/correlation.js';
export { glueComputeMetrics, type ComputeMetrics, type EvalPrediction } from './metrics/glue-metrics.js';

export { createProgress, type Progress, type ProgressValues } from './logging/progress.js';
export { JsonlLog, writeTextAtomic } from './logging/jsonl-log.js';
export { renderCurvesSvg, curvesFromLog, niceTicks, type CurvePanel, type CurveSeries } from './logging/svg-curve.js';

export { selectBackend, BACKEND_CHOICES, type BackendChoice, type BackendSelection } from './backend/select.js';
