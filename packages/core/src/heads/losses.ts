import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { mul, sub } from '../ops/binary.js';
import { cast } from '../ops/cast.js';
import { zerosLike } from '../ops/creation.js';
import { mean, sum } from '../ops/reduce.js';
import { narrow, reshape, stack } from '../ops/shape.js';
import { logSoftmax } from '../ops/softmax.js';
import type { Reduction } from '../ops/loss.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Binary cross-entropy on logits, as PyTorch's `BCEWithLogitsLoss`:
 * loss = log(1 + e^x) − x·y per element, reduced by `reduction` (mean by
 * default). `targets` (same shape, 0/1 or probabilities) are cast to the
 * logits' dtype as Python does with `labels.float()`.
 *
 * log(1 + e^x) is computed as −logSoftmax([0, x])[0], which is stable for
 * any x and has the exact gradient σ(x) − y everywhere (a relu/abs
 * composition would get it wrong at x = 0).
 */
export function bceWithLogits(logits: Tensor, targets: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (!shapesEqual(logits.shape, targets.shape)) {
    throw new ShapeError(`bceWithLogits: targets ${formatShape(targets.shape)} do not match logits ${formatShape(logits.shape)}`);
  }
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new Error(`bceWithLogits: unknown reduction '${String(reduction)}'; valid: mean, sum, none`);
  return tidy(() => {
    const y = targets.dtype === logits.dtype ? targets : cast(targets, logits.dtype);
    const pair = stack([zerosLike(logits), logits], -1);
    const ls = logSoftmax(pair, -1);
    // −log σ(−x) = log(1 + e^x)
    const softplus = reshape(narrow(ls, -1, 0, 1), logits.shape);
    const perElement = sub(mul(softplus, -1), mul(logits, y));
    if (reduction === 'none') return perElement;
    return reduction === 'sum' ? sum(perElement) : mean(perElement);
  });
}
