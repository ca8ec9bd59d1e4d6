import { Tensor } from '../tensor/tensor.js';
import { backward, type BackwardOptions } from './backward.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    /**
     * Reverse-mode differentiation from this tensor; same as
     * `backward(this, grad, opts)`. A non-scalar tensor needs `grad`.
     */
    backward(grad?: Tensor, opts?: BackwardOptions): void;
  }
}

Tensor.prototype.backward = function backwardMethod(this: Tensor, grad?: Tensor, opts?: BackwardOptions): void {
  backward(this, grad, opts);
};

/** Whether `Tensor.prototype.backward` is installed (importing this module installs it). */
export const tensorBackwardInstalled = true;
