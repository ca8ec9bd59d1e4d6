import { dropout } from '../ops/dropout.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/**
 * Zeroes elements with probability p and scales the rest by 1/(1−p) while
 * training; the identity in eval mode. Masks come from the seeded global
 * stream, so `manualSeed` (and checkpoint's replay) reproduce them.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}
