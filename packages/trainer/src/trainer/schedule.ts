import { CosineSchedule, LinearSchedule, LrSchedule } from '@adapterkit/core';
import type { LrSchedulerType } from '../args/training-arguments.js';

/** Constant lr (HF get_constant_schedule), or constant after linear warmup (get_constant_schedule_with_warmup). */
export class ConstantSchedule extends LrSchedule {
  factorAt(step: number): number {
    return step < this.warmupSteps ? this.warmupFactor(step) : 1;
  }
}

/**
 * The schedule HF's `get_scheduler(name, …)` builds: the factor for step k
 * (k updates done) scales the base lr of the (k+1)-th update. 'constant'
 * ignores warmup, as in HF.
 */
export function createSchedule(type: LrSchedulerType, lr: number, warmupSteps: number, totalSteps: number): LrSchedule {
  switch (type) {
    case 'linear':
      return new LinearSchedule({ lr, warmupSteps, totalSteps });
    case 'cosine':
      return new CosineSchedule({ lr, warmupSteps, totalSteps });
    case 'constant':
      return new ConstantSchedule({ lr, warmupSteps: 0, totalSteps });
    case 'constant_with_warmup':
      return new ConstantSchedule({ lr, warmupSteps, totalSteps });
    default:
      throw new Error(`unknown lr scheduler type '${String(type)}'; use linear, cosine, constant or constant_with_warmup`);
  }
}
