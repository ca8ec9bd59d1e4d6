import { shareStorage } from '../autograd/node.js';
import { add, mul, sub } from '../ops/binary.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** SGD hyperparameters (per group). */
export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** L2 penalty added to the gradient (coupled, as torch.optim.SGD). */
  weightDecay: number;
}

/** Defaults of torch.optim.SGD (torch requires lr; 1e-3 here). */
export const SGD_DEFAULTS: SGDHyper = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };

/**
 * SGD as torch.optim.SGD: d = g + wd·p; with momentum, buf = d on the first
 * step and buf ← μ·buf + (1−dampening)·d after; d = d + μ·buf (nesterov) or
 * buf; p ← p − lr·d. State: 'momentum_buffer' (torch's name).
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<SGDHyper>>, opts: Partial<SGDHyper> = {}) {
    super(params, { ...SGD_DEFAULTS, ...opts });
  }

  protected override validate(group: ParamGroup<SGDHyper>): void {
    super.validate(group);
    if (!(group.momentum >= 0)) throw new RangeError(`SGD: invalid momentum ${group.momentum}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) throw new RangeError('SGD: nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected updateParam(p: Tensor, g: Tensor, state: ParamState, group: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = group;
    state.step += 1;
    let d = weightDecay !== 0 ? add(g, mul(p, weightDecay)) : g;
    if (momentum !== 0) {
      let buf = state.tensors.momentum_buffer;
      // First step: the buffer starts as d itself (torch clones; tensors are immutable, so sharing storage is a clone).
      if (!buf) buf = state.tensors.momentum_buffer = shareStorage(d);
      else buf.assign(add(mul(buf, momentum), mul(d, 1 - dampening)));
      d = nesterov ? add(d, mul(buf, momentum)) : buf;
    }
    p.assign(sub(p, mul(d, lr)));
  }
}
