import type { DType, KernelArgs, PrimitiveAttrs } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { PRELUDE, cudaType } from './prelude.js';
import { ROW_HELPERS, ROW_THREADS, checkFloat, rowBlocks, threadsPerRow } from './rows.js';

/**
 * Softmax / log-softmax along the last axis of a contiguous [rows, cols]
 * input: the row max (NaN-propagating) for the stability shift, the sum of
 * exp(x − max), then y = exp(x − max)·(1/sum) or (x − max) − log(sum) — the
 * latter keeps log(sum) when |max| is huge (masked rows), as the reference.
 */
export function softmaxSource(log: boolean, dtype: DType): string {
  const t = cudaType('softmax', dtype);
  return `${PRELUDE}
${ROW_HELPERS}
extern "C" __global__ void k(${t.ctype}* __restrict__ y, const ${t.ctype}* __restrict__ x, i64 rows, i64 cols, int tpr) {
  __shared__ float sh[ROW_THREADS];
  ROW_LANES(tpr)
  for (i64 rb = blockIdx.x; rb * rpb < rows; rb += gridDim.x) {
    i64 row = rb * rpb + threadIdx.x / tpr;
    bool active = row < rows;
    const ${t.ctype}* xr = x + (active ? row : 0) * cols;
    ${t.ctype}* yr = y + (active ? row : 0) * cols;
    float m = -INF_F;
    if (active) for (i64 j = lane; j < cols; j += tpr) { float v = ${t.load('xr[j]')}; if (v > m || v != v) m = v; }
    m = group_max(m, sh, lane, gbase, tpr);
    float s = 0.0f;
    if (active) for (i64 j = lane; j < cols; j += tpr) s += expf(${t.load('xr[j]')} - m);
    s = group_sum(s, sh, lane, gbase, tpr);
    if (!active) continue;
    ${log
      ? `float ls = logf(s);
    for (i64 j = lane; j < cols; j += tpr) yr[j] = ${t.store(`(${t.load('xr[j]')} - m) - ls`)};`
      : `float inv = 1.0f / s;
    for (i64 j = lane; j < cols; j += tpr) yr[j] = ${t.store(`expf(${t.load('xr[j]')} - m) * inv`)};`}
  }
}`;
}

export function softmaxKernel(log: boolean, b: CudaBackend, args: KernelArgs<PrimitiveAttrs['softmax']>): void {
  const name = log ? 'logSoftmax' : 'softmax';
  const x = args.inputs[0]!, y = args.outputs[0]!;
  const d = checkFloat(name, [y, x]);
  const { rows, cols } = args.attrs;
  if (rows * cols === 0) return;
  const tpr = threadsPerRow(cols);
  const fn = b.fn(`${name}:${d}`, () => softmaxSource(log, d), 'k');
  b.launch(fn, rowBlocks(rows, tpr), ROW_THREADS, new CudaParams().ptr(b.ptr(y)).ptr(b.ptr(x)).i64(rows).i64(cols).i32(tpr));
}
