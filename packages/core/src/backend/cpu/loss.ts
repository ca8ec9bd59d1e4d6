import { DTypeError } from '../../errors.js';
import type { KernelArgs, View } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, arrayOf, checkDType, checkSameDType, floatArrayOf } from './common.js';
import { rowMax } from './softmax.js';

type CeAttrs = PrimitiveAttrs['crossEntropy'];

/** Validates targets up front: each is a class in [0, c) or exactly ignoreIndex. */
function checkTargets(kernel: string, tv: View, n: number, c: number, ignoreIndex: number): Int32Array {
  if (tv.dtype !== 'i32') throw new DTypeError(`cpu-ref kernel '${kernel}' expects i32 targets, got ${tv.dtype}`);
  const t = arrayOf(tv) as Int32Array;
  for (let i = 0; i < n; i++) {
    const k = t[tv.offset + i]!;
    if (k !== ignoreIndex && (k < 0 || k >= c)) {
      throw new RangeError(`${kernel}: target ${k} at row ${i} is out of range for ${c} classes (ignoreIndex is ${ignoreIndex})`);
    }
  }
  return t;
}

/** log Σ exp(x) of one row, shifted by the row max so exp() cannot overflow. */
function logSumExp(x: Float32Array | Float64Array, i: number, c: number): number {
  const max = rowMax(x, i, c);
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(x[i + j]! - max);
  return max + Math.log(s);
}

/** loss[i] = logsumexp(x[i]) - x[i, t[i]], or 0 where t[i] == ignoreIndex. */
export function crossEntropyKernel(args: KernelArgs<CeAttrs>): void {
  const xv = args.inputs[0]!, tv = args.inputs[1]!, lv = args.outputs[0]!;
  const { n, c, ignoreIndex } = args.attrs;
  checkSameDType('crossEntropy', [xv, lv]);
  checkDType('crossEntropy', xv.dtype, FLOAT_DTYPES);
  const t = checkTargets('crossEntropy', tv, n, c, ignoreIndex);
  const x = floatArrayOf(xv), loss = floatArrayOf(lv);
  for (let i = 0; i < n; i++) {
    const k = t[tv.offset + i]!;
    const xi = xv.offset + i * c;
    loss[lv.offset + i] = k === ignoreIndex ? 0 : logSumExp(x, xi, c) - x[xi + k]!;
  }
}

/** dlogits[i] = (softmax(x[i]) - onehot(t[i]))·dloss[i]; zero rows where ignored. */
export function crossEntropyBackwardKernel(args: KernelArgs<CeAttrs>): void {
  const xv = args.inputs[0]!, tv = args.inputs[1]!, gv = args.inputs[2]!, dv = args.outputs[0]!;
  const { n, c, ignoreIndex } = args.attrs;
  checkSameDType('crossEntropyBackward', [xv, gv, dv]);
  checkDType('crossEntropyBackward', xv.dtype, FLOAT_DTYPES);
  const t = checkTargets('crossEntropyBackward', tv, n, c, ignoreIndex);
  const x = floatArrayOf(xv), dloss = floatArrayOf(gv), dx = floatArrayOf(dv);
  for (let i = 0; i < n; i++) {
    const k = t[tv.offset + i]!;
    const xi = xv.offset + i * c, di = dv.offset + i * c;
    if (k === ignoreIndex) {
      dx.fill(0, di, di + c);
      continue;
    }
    const lse = logSumExp(x, xi, c);
    const g = dloss[gv.offset + i]!;
    for (let j = 0; j < c; j++) dx[di + j] = Math.exp(x[xi + j]! - lse) * g;
    dx[di + k] = (Math.exp(x[xi + k]! - lse) - 1) * g;
  }
}
