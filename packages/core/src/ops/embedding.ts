import { assertFloat, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { contiguous, reshape } from './shape.js';

/**
 * Looks rows of `weight` (v, d) up by integer ids (i32, any shape):
 * the result has shape [...ids.shape, d]. Forward is the `gather` kernel (an
 * id outside [0, v) is an error); the gradient to `weight` sums the output
 * gradient rows into the looked-up rows with `scatterAdd`, so repeated ids
 * accumulate. No gradient flows to `ids`.
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  assertFloat('embedding', weight);
  if (weight.rank !== 2) throw new ShapeError(`embedding: weight must be (vocab, dim), got ${formatShape(weight.shape)}`);
  if (ids.dtype !== 'i32') throw new DTypeError(`embedding: ids must be i32, got ${ids.dtype}${formatShape(ids.shape)}; convert them with cast(ids, 'i32')`);
  const [v, d] = weight.shape as [number, number];
  const n = ids.size;
  const wc = contiguous(weight);
  const flat = reshape(ids, [n]);
  const dtype = weight.dtype;
  let rows: Tensor | undefined;
  try {
    [rows] = runKernel('gather', [wc, flat], [{ shape: [n, d], dtype }], { v, d, n });
  } catch (e) {
    // An out-of-range id is a recoverable input error; free what was made for it.
    flat.dispose();
    if (wc !== weight) wc.dispose();
    throw e;
  }
  record('embedding', [wc], [rows!], [flat], ([dy], [sid]) => {
    const dyc = contiguous(dy!);
    const [dw] = runKernel('scatterAdd', [dyc, sid!], [{ shape: [v, d], dtype }], { v, d, n });
    return [dw!];
  });
  const y = reshape(rows!, [...ids.shape, d]);
  rows!.dispose();
  flat.dispose();
  if (wc !== weight) wc.dispose();
  return y;
}
