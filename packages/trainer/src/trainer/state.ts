/**
 * The trainer's progress, saved as trainer_state.json in every checkpoint
 * (Hugging Face's TrainerState fields, snake_case in the file).
 */
export interface TrainerState {
  /** Fractional epoch: 1.5 = half-way through the second epoch. */
  epoch: number;
  /** Optimizer updates done. */
  globalStep: number;
  maxSteps: number;
  numTrainEpochs: number;
  trainBatchSize: number;
  loggingSteps: number;
  evalSteps: number | null;
  saveSteps: number;
  /** Every log and evaluation entry so far. */
  logHistory: Record<string, number>[];
  /** Best value of metricForBestModel so far. */
  bestMetric: number | null;
  /** The checkpoint directory holding the best model. */
  bestModelCheckpoint: string | null;
  /** Global step of the best evaluation. */
  bestGlobalStep: number | null;
  /** State of callbacks that have some (early stopping's patience counter), by callback name. */
  statefulCallbacks: Record<string, Record<string, unknown>>;
}

/** A fresh state. */
export function newTrainerState(init: Pick<TrainerState, 'maxSteps' | 'numTrainEpochs' | 'trainBatchSize' | 'loggingSteps' | 'evalSteps' | 'saveSteps'>): TrainerState {
  return { epoch: 0, globalStep: 0, logHistory: [], bestMetric: null, bestModelCheckpoint: null, bestGlobalStep: null, statefulCallbacks: {}, ...init };
}

const FIELDS: [keyof TrainerState, string][] = [
  ['bestGlobalStep', 'best_global_step'],
  ['bestMetric', 'best_metric'],
  ['bestModelCheckpoint', 'best_model_checkpoint'],
  ['epoch', 'epoch'],
  ['evalSteps', 'eval_steps'],
  ['globalStep', 'global_step'],
  ['logHistory', 'log_history'],
  ['loggingSteps', 'logging_steps'],
  ['maxSteps', 'max_steps'],
  ['numTrainEpochs', 'num_train_epochs'],
  ['saveSteps', 'save_steps'],
  ['statefulCallbacks', 'stateful_callbacks'],
  ['trainBatchSize', 'train_batch_size'],
];

/** trainer_state.json's object (HF key names). */
export function trainerStateToJson(s: TrainerState): Record<string, unknown> {
  const out: Record<string, unknown> = { is_local_process_zero: true, is_world_process_zero: true };
  for (const [k, j] of FIELDS) out[j] = s[k];
  return out;
}

/** Reads trainer_state.json's object back; errors name the missing field. */
export function trainerStateFromJson(j: Record<string, unknown>, source: string): TrainerState {
  const s = {} as Record<string, unknown>;
  for (const [k, key] of FIELDS) {
    if (!(key in j)) throw new Error(`${source}: trainer state has no '${key}'`);
    s[k] = j[key];
  }
  return s as unknown as TrainerState;
}
