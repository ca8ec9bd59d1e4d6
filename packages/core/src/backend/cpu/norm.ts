import type { KernelArgs } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, checkDType, checkSameDType, f64Scratch, floatArrayOf } from './common.js';

/**
 * LayerNorm and RMSNorm over the last axis of contiguous [rows, d] inputs.
 * Statistics are computed in doubles with two passes (mean first, then the
 * centred variance) to avoid the cancellation of E[x²] - E[x]². Parameter
 * gradients are summed over rows in a double scratch and stored once.
 */

/** y = (x - mean)·rstd·gamma + beta; mean and rstd (= 1/sqrt(biased var + eps)) per row. */
export function layerNormKernel(args: KernelArgs<PrimitiveAttrs['layerNorm']>): void {
  const xv = args.inputs[0]!, gv = args.inputs[1]!, bv = args.inputs[2]!;
  const yv = args.outputs[0]!, mv = args.outputs[1]!, rv = args.outputs[2]!;
  const { rows, d, eps } = args.attrs;
  checkSameDType('layerNorm', [xv, gv, bv, yv, mv, rv]);
  checkDType('layerNorm', xv.dtype, FLOAT_DTYPES);
  const x = floatArrayOf(xv), gamma = floatArrayOf(gv), beta = floatArrayOf(bv);
  const y = floatArrayOf(yv), meanOut = floatArrayOf(mv), rstdOut = floatArrayOf(rv);
  const go = gv.offset, bo = bv.offset;
  for (let r = 0; r < rows; r++) {
    const xi = xv.offset + r * d, yi = yv.offset + r * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[xi + j]!;
    const mean = s / d;
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const c = x[xi + j]! - mean;
      ss += c * c;
    }
    const rstd = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) y[yi + j] = (x[xi + j]! - mean) * rstd * gamma[go + j]! + beta[bo + j]!;
    meanOut[mv.offset + r] = mean;
    rstdOut[rv.offset + r] = rstd;
  }
}

/**
 * With x̂ = (x - mean)·rstd and g = dy·gamma:
 *   dx = rstd·(g - mean(g) - x̂·mean(g·x̂)),  dgamma = Σ_rows dy·x̂,  dbeta = Σ_rows dy.
 */
export function layerNormBackwardKernel(args: KernelArgs<PrimitiveAttrs['layerNormBackward']>): void {
  const dyv = args.inputs[0]!, xv = args.inputs[1]!, mv = args.inputs[2]!, rv = args.inputs[3]!, gv = args.inputs[4]!;
  const dxv = args.outputs[0]!, dgv = args.outputs[1]!, dbv = args.outputs[2]!;
  const { rows, d } = args.attrs;
  checkSameDType('layerNormBackward', [dyv, xv, mv, rv, gv, dxv, dgv, dbv]);
  checkDType('layerNormBackward', xv.dtype, FLOAT_DTYPES);
  const dy = floatArrayOf(dyv), x = floatArrayOf(xv), meanIn = floatArrayOf(mv), rstdIn = floatArrayOf(rv), gamma = floatArrayOf(gv);
  const dx = floatArrayOf(dxv);
  const go = gv.offset;
  // acc[0..d) = dgamma, acc[d..2d) = dbeta.
  const acc = f64Scratch(2 * d);
  acc.fill(0, 0, 2 * d);
  for (let r = 0; r < rows; r++) {
    const xi = xv.offset + r * d, dyi = dyv.offset + r * d, dxi = dxv.offset + r * d;
    const mean = meanIn[mv.offset + r]!, rstd = rstdIn[rv.offset + r]!;
    let sg = 0, sgx = 0;
    for (let j = 0; j < d; j++) {
      const xh = (x[xi + j]! - mean) * rstd;
      const g = dy[dyi + j]!;
      const gg = g * gamma[go + j]!;
      sg += gg;
      sgx += gg * xh;
      acc[j]! += g * xh;
      acc[d + j]! += g;
    }
    const mg = sg / d, mgx = sgx / d;
    for (let j = 0; j < d; j++) {
      const xh = (x[xi + j]! - mean) * rstd;
      dx[dxi + j] = rstd * (dy[dyi + j]! * gamma[go + j]! - mg - xh * mgx);
    }
  }
  storeRow(floatArrayOf(dgv), dgv.offset, acc, 0, d);
  storeRow(floatArrayOf(dbv), dbv.offset, acc, d, d);
}

/** y = x·rstd·gamma, rstd = 1/sqrt(mean(x²) + eps) per row. */
export function rmsNormKernel(args: KernelArgs<PrimitiveAttrs['rmsNorm']>): void {
  const xv = args.inputs[0]!, gv = args.inputs[1]!;
  const yv = args.outputs[0]!, rv = args.outputs[1]!;
  const { rows, d, eps } = args.attrs;
  checkSameDType('rmsNorm', [xv, gv, yv, rv]);
  checkDType('rmsNorm', xv.dtype, FLOAT_DTYPES);
  const x = floatArrayOf(xv), gamma = floatArrayOf(gv), y = floatArrayOf(yv), rstdOut = floatArrayOf(rv);
  const go = gv.offset;
  for (let r = 0; r < rows; r++) {
    const xi = xv.offset + r * d, yi = yv.offset + r * d;
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const v = x[xi + j]!;
      ss += v * v;
    }
    const rstd = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) y[yi + j] = x[xi + j]! * rstd * gamma[go + j]!;
    rstdOut[rv.offset + r] = rstd;
  }
}

/**
 * With x̂ = x·rstd and g = dy·gamma:
 *   dx = rstd·(g - x̂·mean(g·x̂)),  dgamma = Σ_rows dy·x̂.
 */
export function rmsNormBackwardKernel(args: KernelArgs<PrimitiveAttrs['rmsNormBackward']>): void {
  const dyv = args.inputs[0]!, xv = args.inputs[1]!, rv = args.inputs[2]!, gv = args.inputs[3]!;
  const dxv = args.outputs[0]!, dgv = args.outputs[1]!;
  const { rows, d } = args.attrs;
  checkSameDType('rmsNormBackward', [dyv, xv, rv, gv, dxv, dgv]);
  checkDType('rmsNormBackward', xv.dtype, FLOAT_DTYPES);
  const dy = floatArrayOf(dyv), x = floatArrayOf(xv), rstdIn = floatArrayOf(rv), gamma = floatArrayOf(gv);
  const dx = floatArrayOf(dxv);
  const go = gv.offset;
  const acc = f64Scratch(d);
  acc.fill(0, 0, d);
  for (let r = 0; r < rows; r++) {
    const xi = xv.offset + r * d, dyi = dyv.offset + r * d, dxi = dxv.offset + r * d;
    const rstd = rstdIn[rv.offset + r]!;
    let sgx = 0;
    for (let j = 0; j < d; j++) {
      const xh = x[xi + j]! * rstd;
      const g = dy[dyi + j]!;
      sgx += g * gamma[go + j]! * xh;
      acc[j]! += g * xh;
    }
    const mgx = sgx / d;
    for (let j = 0; j < d; j++) {
      dx[dxi + j] = rstd * (dy[dyi + j]! * gamma[go + j]! - x[xi + j]! * rstd * mgx);
    }
  }
  storeRow(floatArrayOf(dgv), dgv.offset, acc, 0, d);
}

function storeRow(out: Float32Array | Float64Array, at: number, src: Float64Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) out[at + j] = src[from + j]!;
}
