import { assertFloat, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul, sub } from './binary.js';
import { sum } from './reduce.js';
import { contiguous, transpose } from './shape.js';
import { exp } from './unary.js';

type SoftmaxKernel = 'softmax' | 'logSoftmax';

/** Runs the fused kernel over the last axis of `x`; records the gradient rule. */
function lastAxis(kernel: SoftmaxKernel, x: Tensor): Tensor {
  const xc = contiguous(x);
  const cols = x.shape[x.rank - 1]!;
  const rows = cols === 0 ? 0 : x.size / cols;
  const [y] = runKernel(kernel, [xc], [{ shape: x.shape, dtype: x.dtype }], { rows, cols });
  if (kernel === 'softmax') {
    // dx = y · (dy − Σ(dy · y))
    record('softmax', [xc], [y!], [y!], ([dy], [sy]) => [mul(sy!, sub(dy!, sum(mul(dy!, sy!), -1, true)))]);
  } else {
    // dx = dy − softmax · Σdy, softmax = exp(y)
    record('logSoftmax', [xc], [y!], [y!], ([dy], [sy]) => [sub(dy!, mul(exp(sy!), sum(dy!, -1, true)))]);
  }
  if (xc !== x) xc.dispose();
  return y!;
}

/** Moves `axis` last, runs the kernel, and moves it back (the result is then a strided view). */
function alongAxis(kernel: SoftmaxKernel, x: Tensor, axis: number): Tensor {
  assertFloat(kernel, x);
  const a = normalizeAxis(axis, x.rank, kernel);
  if (a === x.rank - 1) return lastAxis(kernel, x);
  const xt = transpose(x, a, -1);
  const yt = lastAxis(kernel, xt);
  const y = transpose(yt, a, -1);
  xt.dispose();
  yt.dispose();
  return y;
}

/**
 * Softmax along `axis` (last by default): exp(x − max) / Σ exp(x − max), using
 * the fused `softmax` kernel. For another axis the input is transposed to
 * make it last (one copy) and the result is a transposed view.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('softmax', x, axis);
}

/**
 * log(softmax(x)) along `axis` (last by default), computed stably by the
 * fused `logSoftmax` kernel. Gradient: dx = dy − softmax(x) · Σ dy.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('logSoftmax', x, axis);
}
