import { assertSameDType, broadcastView, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { DTypeError, formatShape } from '../errors.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Operand } from './binary.js';
import { scalarLike } from './creation.js';
import { sumToShape } from './reduce.js';

/**
 * Elementwise choice: `cond ? a : b`, with NumPy broadcasting of all three.
 * `cond` is u8 (0/1, as comparisons produce); `a` and `b` share a dtype, and
 * either may be a plain number (taken in the other's dtype). Gradients:
 * a gets where(cond, dy, 0), b gets where(cond, 0, dy), each summed back to
 * its own shape. No gradient flows to `cond`.
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  if (cond.dtype !== 'u8') {
    throw new DTypeError(`where: condition must be u8 (0/1, as comparisons return), got ${cond.dtype}${formatShape(cond.shape)}`);
  }
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError('where: at least one of a and b must be a tensor');
  const ta = typeof a === 'number' ? scalarLike(b as Tensor, a) : a;
  const tb = typeof b === 'number' ? scalarLike(ta, b) : b;
  const dtype = assertSameDType('where', ta, tb);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const [y] = runKernel('where', [broadcastView(cond, shape), broadcastView(ta, shape), broadcastView(tb, shape)], [{ shape, dtype }]);
  const aShape = ta.shape;
  const bShape = tb.shape;
  record('where', [ta, tb], [y!], [cond], ([dy], [c], needs) => {
    const zero = scalarLike(dy!, 0);
    return [
      needs[0] ? sumToShape(where(c!, dy!, zero), aShape) : null,
      needs[1] ? sumToShape(where(c!, zero, dy!), bShape) : null,
    ];
  });
  if (typeof a === 'number') ta.dispose();
  if (typeof b === 'number') tb.dispose();
  return y!;
}

/**
 * Sets elements of `x` to `value` where `mask` (u8, broadcastable with x) is 1:
 * `where(mask, value, x)`. The gradient to x is zero at filled positions.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}
