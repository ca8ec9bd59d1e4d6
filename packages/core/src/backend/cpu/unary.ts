import type { TypedArray } from '../../tensor/dtype.js';
import type { KernelArgs } from '../backend.js';
import type { UnaryOp } from '../primitives.js';
import { FLOAT_DTYPES, FLOAT_I32, arrayOf, checkDType, checkSameDType } from './common.js';
import { erf, gelu, geluTanh, sigmoid } from './special-math.js';
import { StridedRuns } from './strided.js';

/** Unary ops whose integer result is exact, so they also accept i32. */
const INTEGER_OK = new Set<UnaryOp>(['neg', 'abs', 'sign']);

/** y = f(x): x strided (any strides/offset), y same shape and dtype. */
export function unaryKernel(op: UnaryOp, args: KernelArgs): void {
  const x = args.inputs[0]!;
  const y = args.outputs[0]!;
  checkSameDType(op, [y, x]);
  checkDType(op, x.dtype, INTEGER_OK.has(op) ? FLOAT_I32 : FLOAT_DTYPES);
  const xs = arrayOf(x);
  const ys = arrayOf(y);
  const it = new StridedRuns(op, [y, x]);
  for (let r = 0; r < it.rows; r++) {
    unaryRun(op, xs, it.offsets[1]!, it.steps[1]!, ys, it.offsets[0]!, it.steps[0]!, it.n);
    it.next();
  }
}

/**
 * One run of n elements. The op switch sits outside the loops so each loop
 * body is a single expression the JIT can keep monomorphic.
 */
function unaryRun(op: UnaryOp, x: TypedArray, xi: number, xs: number, y: TypedArray, yi: number, ys: number, n: number): void {
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = -x[xi]!; break;
    case 'abs': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.abs(x[xi]!); break;
    case 'sign': for (let i = 0; i < n; i++, yi += ys, xi += xs) { const v = x[xi]!; y[yi] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v; } break;
    case 'exp': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.exp(x[xi]!); break;
    case 'log': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.log(x[xi]!); break;
    case 'sqrt': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.sqrt(x[xi]!); break;
    case 'rsqrt': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = 1 / Math.sqrt(x[xi]!); break;
    case 'recip': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = 1 / x[xi]!; break;
    case 'square': for (let i = 0; i < n; i++, yi += ys, xi += xs) { const v = x[xi]!; y[yi] = v * v; } break;
    case 'sin': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.sin(x[xi]!); break;
    case 'cos': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.cos(x[xi]!); break;
    case 'tanh': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = Math.tanh(x[xi]!); break;
    case 'sigmoid': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = sigmoid(x[xi]!); break;
    // max(x, 0) that keeps NaN (a NaN fails both comparisons).
    case 'relu': for (let i = 0; i < n; i++, yi += ys, xi += xs) { const v = x[xi]!; y[yi] = v < 0 ? 0 : v; } break;
    case 'erf': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = erf(x[xi]!); break;
    case 'gelu': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = gelu(x[xi]!); break;
    case 'geluTanh': for (let i = 0; i < n; i++, yi += ys, xi += xs) y[yi] = geluTanh(x[xi]!); break;
    case 'silu': for (let i = 0; i < n; i++, yi += ys, xi += xs) { const v = x[xi]!; y[yi] = v * sigmoid(v); } break;
    default: throw new Error(`cpu-ref: unknown unary op '${op as string}'`);
  }
}
