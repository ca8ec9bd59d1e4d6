import { cast } from './cast.js';
import { add, gt, mul, mulScalar, sub } from './binary.js';
import { erf, exp, oneMinusSquare, square, tanh as tanhRaw, unary } from './unary.js';
import type { Tensor } from '../tensor/tensor.js';

export { tanhRaw as tanh };

/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x, (dy, sx) => mul(dy, cast(gt(sx, 0), dy.dtype)));

/** 1 / (1 + e^(−x)). */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (dy, _x, y) => mul(dy, mul(y, sub(1, y))));

/** x·sigmoid(x) (a.k.a. swish). */
export const silu = (x: Tensor): Tensor =>
  unary('silu', x, (dy, sx) => {
    const s = sigmoid(sx);
    return mul(dy, mul(s, add(mul(sx, sub(1, s)), 1)));
  });

/** Exact GELU: x·Φ(x). d/dx = Φ(x) + x·φ(x). */
export const gelu = (x: Tensor): Tensor =>
  unary('gelu', x, (dy, sx) => {
    const cdf = mulScalar(add(erf(mulScalar(sx, Math.SQRT1_2)), 1), 0.5);
    const pdf = mulScalar(exp(mulScalar(square(sx), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return mul(dy, add(cdf, mul(sx, pdf)));
  });

const GELU_C = Math.sqrt(2 / Math.PI);

/** tanh approximation of GELU (HF "gelu_new" / "gelu_pytorch_tanh"). */
export const geluTanh = (x: Tensor): Tensor =>
  unary('geluTanh', x, (dy, sx) => {
    const x2 = square(sx);
    const t = tanhRaw(mulScalar(add(sx, mulScalar(mul(x2, sx), 0.044715)), GELU_C));
    const du = mulScalar(add(mulScalar(x2, 3 * 0.044715), 1), GELU_C);
    const d = add(mulScalar(add(t, 1), 0.5), mul(mulScalar(sx, 0.5), mul(oneMinusSquare(t), du)));
    return mul(dy, d);
  });
