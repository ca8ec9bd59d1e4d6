import { rand } from '../ops/creation.js';
import { linear } from '../ops/matmul.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Options of `Linear`. */
export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default f32). */
  dtype?: DType;
}

/**
 * y = x·Wᵀ + b. Parameters 'weight' [out, in] and 'bias' [out], as in PyTorch
 * and HF checkpoints. Init matches torch.nn.Linear: kaiming-uniform with
 * a=√5, which gives U(−1/√in, 1/√in) for the weight and the same for the
 * bias, drawn in that order from the seeded global stream.
 */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    const range = { low: -bound, high: bound, dtype: opts.dtype };
    this.weight = this.registerParameter('weight', new Parameter(rand([outFeatures, inFeatures], range)));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', new Parameter(rand([outFeatures], range)));
  }

  /** x (…, in) → (…, out). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
