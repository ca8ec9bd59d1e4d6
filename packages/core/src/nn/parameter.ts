import { keep } from '../backend/scope.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A trainable tensor owned by a Module. It is a leaf (no gradNode), kept out
 * of every `tidy` scope (it must outlive the scope that built the model), and
 * requires grad unless told otherwise. Optimizers and `loadStateDict` change
 * its value with `assign`, so the object identity never changes.
 */
export class Parameter extends Tensor {
  /**
   * Takes over `data`: the parameter shares `data`'s storage and `data` itself
   * is disposed, so `new Parameter(randn([4, 4]))` leaks nothing even outside
   * a tidy scope. Do not use `data` afterwards.
   */
  constructor(data: Tensor, requiresGrad = true) {
    super(data.storage, data.shape, data.strides, data.offset);
    keep(this);
    this.requiresGrad = requiresGrad;
    // The storage lives on through our own reference; the wrapper object goes.
    if (data !== this) data.dispose();
  }
}

