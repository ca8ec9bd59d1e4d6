import { add, div, mul, sub } from '../ops/binary.js';
import { sqrt, square } from '../ops/unary.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** AdamW hyperparameters (per group). */
export interface AdamWHyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  /** Decoupled weight decay (default 0.01, torch's). */
  weightDecay: number;
}

/** Defaults of torch.optim.AdamW. */
export const ADAMW_DEFAULTS: AdamWHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 };

/**
 * AdamW as torch.optim.AdamW (amsgrad off): decoupled weight decay
 * p ← p·(1 − lr·wd), then Adam with bias correction:
 * m ← lerp(m, g, 1−β1), v ← β2·v + (1−β2)·g², p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps).
 * State per parameter: step, 'exp_avg', 'exp_avg_sq' (torch's names).
 */
export class AdamW extends Optimizer<AdamWHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<AdamWHyper>>, opts: Partial<AdamWHyper> = {}) {
    super(params, { ...ADAMW_DEFAULTS, ...opts });
  }

  protected override validate(group: ParamGroup<AdamWHyper>): void {
    super.validate(group);
    const [b1, b2] = group.betas;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(group.eps >= 0)) throw new RangeError(`AdamW: invalid eps ${group.eps}`);
  }

  protected updateParam(p: Tensor, g: Tensor, state: ParamState, group: ParamGroup<AdamWHyper>): void {
    const { lr, eps, weightDecay } = group;
    const [b1, b2] = group.betas;
    state.step += 1;
    const m = this.stateTensor(state, 'exp_avg', p);
    const v = this.stateTensor(state, 'exp_avg_sq', p);
    // Same operation order as torch's single-tensor path, so f32 results agree closely.
    const decayed = weightDecay !== 0 ? mul(p, 1 - lr * weightDecay) : p;
    m.assign(add(m, mul(sub(g, m), 1 - b1)));
    v.assign(add(mul(v, b2), mul(square(g), 1 - b2)));
    const stepSize = lr / (1 - b1 ** state.step);
    const bc2Sqrt = Math.sqrt(1 - b2 ** state.step);
    const denom = add(div(sqrt(v), bc2Sqrt), eps);
    p.assign(sub(decayed, mul(div(m, denom), stepSize)));
  }
}
