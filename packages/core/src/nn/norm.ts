import { ones, zeros } from '../ops/creation.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, torch's; BERT configs use 1e-12). */
  eps?: number;
  dtype?: DType;
}

/**
 * Layer normalisation over the last axis. Parameters 'weight' (ones) and
 * 'bias' (zeros): the names current HF checkpoints use (older ones say
 * gamma/beta; the loader renames those).
 */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly eps: number;

  constructor(readonly dim: number, opts: LayerNormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.weight = this.registerParameter('weight', new Parameter(ones([dim], { dtype: opts.dtype })));
    this.bias = this.registerParameter('bias', new Parameter(zeros([dim], { dtype: opts.dtype })));
  }

  /** Normalises x (…, dim). */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Options of `RMSNorm`. */
export interface RMSNormOptions {
  /** Added to the mean square (default 1e-6, Llama's). */
  eps?: number;
  dtype?: DType;
}

/** RMS normalisation over the last axis (Llama/Mistral). Parameter 'weight' (ones). */
export class RMSNorm extends Module {
  readonly weight: Parameter;
  readonly eps: number;

  constructor(readonly dim: number, opts: RMSNormOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.weight = this.registerParameter('weight', new Parameter(ones([dim], { dtype: opts.dtype })));
  }

  /** Normalises x (…, dim). */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
