import { DTypeError } from '../../errors.js';
import type { KernelArgs, View } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_I32, arrayOf, checkDType, checkSameDType } from './common.js';

type GatherAttrs = PrimitiveAttrs['gather'];

/** Validates every index before any write, so a bad index leaves the output untouched. */
function checkIndices(kernel: string, idxView: View, n: number, v: number): Int32Array {
  if (idxView.dtype !== 'i32') throw new DTypeError(`cpu-ref kernel '${kernel}' expects i32 indices, got ${idxView.dtype}`);
  const idx = arrayOf(idxView) as Int32Array;
  const o = idxView.offset;
  for (let i = 0; i < n; i++) {
    const t = idx[o + i]!;
    if (t < 0 || t >= v) throw new RangeError(`${kernel}: index ${t} at position ${i} is out of range for a table of ${v} rows`);
  }
  return idx;
}

/** y[i, :] = table[idx[i], :] (embedding lookup). */
export function gatherKernel(args: KernelArgs<GatherAttrs>): void {
  const table = args.inputs[0]!, indices = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  checkSameDType('gather', [y, table]);
  checkDType('gather', table.dtype, FLOAT_I32);
  const idx = checkIndices('gather', indices, n, v);
  const src = arrayOf(table), dst = arrayOf(y);
  for (let i = 0; i < n; i++) {
    const from = table.offset + idx[indices.offset + i]! * d;
    dst.set(src.subarray(from, from + d), y.offset + i * d);
  }
}

/** y = zeros(v, d); y[idx[i], :] += src[i, :] (the gradient of gather). */
export function scatterAddKernel(args: KernelArgs<GatherAttrs>): void {
  const srcView = args.inputs[0]!, indices = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  checkSameDType('scatterAdd', [y, srcView]);
  checkDType('scatterAdd', srcView.dtype, FLOAT_I32);
  const idx = checkIndices('scatterAdd', indices, n, v);
  const src = arrayOf(srcView), dst = arrayOf(y);
  dst.fill(0, y.offset, y.offset + v * d);
  for (let i = 0; i < n; i++) {
    const to = y.offset + idx[indices.offset + i]! * d;
    const from = srcView.offset + i * d;
    for (let j = 0; j < d; j++) dst[to + j]! += src[from + j]!;
  }
}
