import type { KernelArgs } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, checkDType, checkSameDType, f64Scratch, floatArrayOf } from './common.js';

type SoftmaxAttrs = PrimitiveAttrs['softmax'];

/**
 * Softmax / log-softmax along the last axis of a contiguous [rows, cols]
 * input. Subtracting the row max keeps exp() from overflowing; the shifted
 * exponentials are kept in a double scratch row so each is computed once and
 * the f32 output is rounded only at the end.
 */
export function softmaxKernel(log: boolean, args: KernelArgs<SoftmaxAttrs>): void {
  const name = log ? 'logSoftmax' : 'softmax';
  const xv = args.inputs[0]!, yv = args.outputs[0]!;
  const { rows, cols } = args.attrs;
  checkSameDType(name, [yv, xv]);
  checkDType(name, xv.dtype, FLOAT_DTYPES);
  const x = floatArrayOf(xv), y = floatArrayOf(yv);
  const e = f64Scratch(cols);
  for (let r = 0; r < rows; r++) {
    const xi = xv.offset + r * cols, yi = yv.offset + r * cols;
    const max = rowMax(x, xi, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const v = Math.exp(x[xi + j]! - max);
      e[j] = v;
      sum += v;
    }
    if (log) {
      // (x - max) - log(sum), not x - (max + log(sum)): with a huge |max| (masked rows) the latter loses log(sum).
      const logSum = Math.log(sum);
      for (let j = 0; j < cols; j++) y[yi + j] = x[xi + j]! - max - logSum;
    } else {
      const inv = 1 / sum;
      for (let j = 0; j < cols; j++) y[yi + j] = e[j]! * inv;
    }
  }
}

/**
 * Max of a row for the stability shift; NaN propagates. No special case for
 * infinities: a +Inf or all -Inf row yields NaN (Inf - Inf), as in the math.
 */
export function rowMax(x: Float32Array | Float64Array, i: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[i + j]!;
    if (v > m || v !== v) m = v;
  }
  return m;
}
