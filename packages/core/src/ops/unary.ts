import { assertFloat, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import type { UnaryOp } from '../backend/primitives.js';
import type { Tensor } from '../tensor/tensor.js';
import { div, mul, mulScalar, sub } from './binary.js';

/**
 * A unary elementwise op: forward is the kernel of the same name, the rule
 * gets (dy, x, y) and returns dx.
 */
export function unary(op: UnaryOp, x: Tensor, rule: ((dy: Tensor, x: Tensor, y: Tensor) => Tensor) | null, floatOnly = true): Tensor {
  if (floatOnly) assertFloat(op, x);
  const [y] = runKernel(op, [x], [{ shape: x.shape, dtype: x.dtype }]);
  if (rule) record(op, [x], [y!], [x, y!], ([dy], [sx, sy]) => [rule(dy!, sx!, sy!)]);
  return y!;
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (dy) => mulScalar(dy, -1), false);
export const abs = (x: Tensor): Tensor => unary('abs', x, (dy, sx) => mul(dy, sign(sx)), false);
/** Sign (−1, 0, 1); its gradient is zero, so none flows. */
export const sign = (x: Tensor): Tensor => unary('sign', x, null, false);
export const exp = (x: Tensor): Tensor => unary('exp', x, (dy, _x, y) => mul(dy, y));
export const log = (x: Tensor): Tensor => unary('log', x, (dy, sx) => div(dy, sx));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (dy, _x, y) => div(mulScalar(dy, 0.5), y));
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (dy, _x, y) => mul(mulScalar(dy, -0.5), mul(y, mul(y, y))));
export const recip = (x: Tensor): Tensor => unary('recip', x, (dy, _x, y) => mulScalar(mul(dy, mul(y, y)), -1));
export const square = (x: Tensor): Tensor => unary('square', x, (dy, sx) => mul(dy, mulScalar(sx, 2)));
export const sin = (x: Tensor): Tensor => unary('sin', x, (dy, sx) => mul(dy, cos(sx)));
export const cos = (x: Tensor): Tensor => unary('cos', x, (dy, sx) => mulScalar(mul(dy, sin(sx)), -1));
/** Error function; d/dx erf = 2/√π·e^(−x²). */
export const erf = (x: Tensor): Tensor =>
  unary('erf', x, (dy, sx) => mul(dy, mulScalar(exp(mulScalar(square(sx), -1)), 2 / Math.sqrt(Math.PI))));

/** 1 − y², shared by tanh and the tanh-GELU rule. */
export function oneMinusSquare(y: Tensor): Tensor {
  return sub(1, square(y));
}


/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (dy, _x, y) => mul(dy, oneMinusSquare(y)));
