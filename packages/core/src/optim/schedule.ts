import type { BaseHyper, Optimizer } from './optimizer.js';

/** Options shared by the schedules. */
export interface ScheduleOptions {
  /** Peak learning rate (reached at the end of warmup); `lrAt` scales it. */
  lr: number;
  /** Steps of linear warmup from 0 (default 0). */
  warmupSteps?: number;
  /** Total training steps. */
  totalSteps: number;
}

/**
 * A learning-rate schedule as a multiplier of the base lr per step (torch's
 * LambdaLR style). `apply(optimizer, step)` sets each group's lr to its
 * initial lr times the factor, so groups with different lrs keep their ratio.
 */
export abstract class LrSchedule {
  readonly lr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;

  constructor(opts: ScheduleOptions) {
    this.lr = opts.lr;
    this.warmupSteps = opts.warmupSteps ?? 0;
    this.totalSteps = opts.totalSteps;
    if (!(this.warmupSteps >= 0) || !(this.totalSteps >= 0)) throw new RangeError(`${this.constructor.name}: warmupSteps and totalSteps must be ≥ 0`);
  }

  /** Multiplier of the base lr at `step` (0-based: the lr used for the step after `step` updates). */
  abstract factorAt(step: number): number;

  /** The learning rate at `step`. */
  lrAt(step: number): number {
    return this.lr * this.factorAt(step);
  }

  /** Sets every group's lr for `step`: its initial lr times `factorAt(step)`. */
  apply<H extends BaseHyper>(optimizer: Optimizer<H>, step: number): void {
    const f = this.factorAt(step);
    for (const g of optimizer.paramGroups) g.lr = g.initialLr * f;
  }

  protected warmupFactor(step: number): number {
    return step / Math.max(1, this.warmupSteps);
  }
}

/** Linear warmup from 0 to lr, then linear decay to 0 at totalSteps (HF get_linear_schedule_with_warmup). */
export class LinearSchedule extends LrSchedule {
  factorAt(step: number): number {
    if (step < this.warmupSteps) return this.warmupFactor(step);
    return Math.max(0, (this.totalSteps - step) / Math.max(1, this.totalSteps - this.warmupSteps));
  }
}

/** Options of `CosineSchedule`. */
export interface CosineScheduleOptions extends ScheduleOptions {
  /** Cosine cycles over the decay phase, as HF: 0.5 (default) decays once from lr to the minimum. */
  numCycles?: number;
  /** Floor as a fraction of lr (default 0, HF's get_cosine_with_min_lr_schedule_with_warmup for > 0). */
  minLrRate?: number;
}

/** Linear warmup, then cosine decay (HF get_cosine_schedule_with_warmup). */
export class CosineSchedule extends LrSchedule {
  readonly numCycles: number;
  readonly minLrRate: number;

  constructor(opts: CosineScheduleOptions) {
    super(opts);
    this.numCycles = opts.numCycles ?? 0.5;
    this.minLrRate = opts.minLrRate ?? 0;
  }

  factorAt(step: number): number {
    if (step < this.warmupSteps) return this.warmupFactor(step);
    const progress = (step - this.warmupSteps) / Math.max(1, this.totalSteps - this.warmupSteps);
    const cosine = 0.5 * (1 + Math.cos(Math.PI * this.numCycles * 2 * progress));
    return Math.max(0, cosine * (1 - this.minLrRate) + this.minLrRate);
  }
}
