import type { TrainingArguments } from '../args/training-arguments.js';
import { evalMetricKey } from '../args/training-arguments.js';
import type { TrainerState } from './state.js';

/** Flags callbacks set to steer the loop (HF TrainerControl). */
export interface TrainerControl {
  shouldTrainingStop: boolean;
  shouldEpochStop: boolean;
  shouldSave: boolean;
  shouldEvaluate: boolean;
  shouldLog: boolean;
}

/** What every callback receives. */
export interface CallbackContext {
  args: TrainingArguments;
  state: TrainerState;
  control: TrainerControl;
  /** The trainer (its model, optimizer, datasets). */
  trainer: unknown;
}

/**
 * Hooks into the training loop (HF TrainerCallback). All are optional and
 * may be async. A callback with `stateName` and `getState`/`setState` has its
 * state saved in checkpoints and restored on resume.
 */
export interface TrainerCallback {
  onTrainBegin?(ctx: CallbackContext): void | Promise<void>;
  onEpochBegin?(ctx: CallbackContext): void | Promise<void>;
  onStepBegin?(ctx: CallbackContext): void | Promise<void>;
  /** After gradients are accumulated and clipped, before the optimizer step (gradients are readable here). */
  onPreOptimizerStep?(ctx: CallbackContext): void | Promise<void>;
  onStepEnd?(ctx: CallbackContext): void | Promise<void>;
  onEpochEnd?(ctx: CallbackContext): void | Promise<void>;
  onLog?(ctx: CallbackContext, logs: Record<string, number>): void | Promise<void>;
  onEvaluate?(ctx: CallbackContext, metrics: Record<string, number>): void | Promise<void>;
  /** After a checkpoint directory is complete (renamed into place). */
  onSave?(ctx: CallbackContext, checkpointDir: string): void | Promise<void>;
  onTrainEnd?(ctx: CallbackContext): void | Promise<void>;
  readonly stateName?: string;
  getState?(): Record<string, unknown>;
  setState?(s: Record<string, unknown>): void;
}

/** A control with every flag off. */
export function newControl(): TrainerControl {
  return { shouldTrainingStop: false, shouldEpochStop: false, shouldSave: false, shouldEvaluate: false, shouldLog: false };
}

/** Whether `value` beats `best` for the configured metric (with an optional minimum improvement). */
export function isBetter(value: number, best: number | null, greaterIsBetter: boolean, threshold = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return greaterIsBetter ? value > best + threshold : value < best - threshold;
}

/**
 * Stops training after `patience` evaluations in a row without an
 * improvement of metricForBestModel by more than `threshold` (HF
 * EarlyStoppingCallback). Its counter is saved in checkpoints.
 */
export class EarlyStoppingCallback implements TrainerCallback {
  readonly stateName = 'EarlyStoppingCallback';
  private bad = 0;
  private best: number | null = null;

  constructor(readonly patience: number, readonly threshold = 0) {
    if (!Number.isInteger(patience) || patience < 1) throw new RangeError(`EarlyStoppingCallback: patience must be a positive integer, got ${patience}`);
  }

  onTrainBegin(ctx: CallbackContext): void {
    if (ctx.args.evalStrategy === 'no') throw new Error("EarlyStoppingCallback needs evaluation: set evalStrategy to 'epoch' or 'steps'");
  }

  onEvaluate(ctx: CallbackContext, metrics: Record<string, number>): void {
    const key = evalMetricKey(ctx.args.metricForBestModel ?? 'loss');
    const v = metrics[key];
    if (v === undefined) throw new Error(`EarlyStoppingCallback: metric '${key}' is not among the evaluation results (${Object.keys(metrics).join(', ')})`);
    if (isBetter(v, this.best, ctx.args.greaterIsBetter ?? false, this.threshold)) {
      this.best = v;
      this.bad = 0;
    } else {
      this.bad++;
    }
    if (this.bad >= this.patience) ctx.control.shouldTrainingStop = true;
  }

  /** Evaluations in a row without improvement. */
  get badEvaluations(): number {
    return this.bad;
  }

  getState(): Record<string, unknown> {
    return { patience_counter: this.bad, best: this.best };
  }

  setState(s: Record<string, unknown>): void {
    this.bad = Number(s.patience_counter ?? 0);
    this.best = typeof s.best === 'number' ? s.best : null;
  }
}
