import { Module, bernoulli, mul, mulScalar, type Tensor } from '@adapterkit/core';

/**
 * Stochastic depth in torchvision's "row" mode (`StochasticDepth(p,
 * mode="row")`, used by AdapterPlus): while training, each batch row keeps
 * its whole value with probability 1 − p, scaled by 1/(1 − p), or is zeroed;
 * the identity in eval mode or when p = 0. Parameter-free.
 */
export class DropPath extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`DropPath: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const survival = 1 - this.p;
    const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
    const keep = bernoulli(shape, survival, { dtype: x.dtype, backend: x.backend });
    // torchvision divides the noise by the survival rate only when it is > 0.
    const noise = survival > 0 ? mulScalar(keep, 1 / survival) : keep;
    return mul(x, noise);
  }
}
