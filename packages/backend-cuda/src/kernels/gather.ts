import { DTypeError, type DType, type KernelArgs, type PrimitiveAttrs, type View } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { STATUS } from '../status-flags.js';
import { BLOCK, PRELUDE, bitsType, blocksFor } from './prelude.js';

/**
 * gather: y[i, :] = table[idx[i], :] (embedding lookup), one thread per
 * output element, moving bits (any dtype).
 * scatterAdd: y = 0; y[idx[i], :] += src[i, :] with atomicAdd (f32, i32);
 * the order of additions varies between runs, as on every GPU.
 * Indices are checked on the GPU: a bad one raises the status flag (reported
 * at the next read) and its row is written as zeros / skipped.
 */
export function gatherSource(bits: string): string {
  return `${PRELUDE}
typedef long long IDX;
extern "C" __global__ void k(${bits}* __restrict__ y, const ${bits}* __restrict__ table, const i32* __restrict__ idx, u32* __restrict__ status, i64 v, i64 d, i64 n) {
  FOR_EACH(e, n * d) {
    i64 i = e / d, j = e - i * d;
    i32 t = idx[i];
    if (t < 0 || (i64)t >= v) {
      y[e] = 0;
      if (j == 0) { atomicOr(status, ${STATUS.gather}u); atomicExch(status + 1, (u32)t); }
    } else {
      y[e] = table[(i64)t * d + j];
    }
  }
}`;
}

export function scatterAddSource(ctype: 'float' | 'int'): string {
  return `${PRELUDE}
typedef long long IDX;
extern "C" __global__ void k(${ctype}* __restrict__ y, const ${ctype}* __restrict__ src, const i32* __restrict__ idx, u32* __restrict__ status, i64 v, i64 d, i64 n) {
  FOR_EACH(e, n * d) {
    i64 i = e / d, j = e - i * d;
    i32 t = idx[i];
    if (t < 0 || (i64)t >= v) {
      if (j == 0) { atomicOr(status, ${STATUS.scatterAdd}u); atomicExch(status + 1, (u32)t); }
    } else {
      atomicAdd(y + (i64)t * d + j, src[e]);
    }
  }
}`;
}

function checkIndices(kernel: string, v: View): void {
  if (v.dtype !== 'i32') throw new DTypeError(`cuda kernel '${kernel}' expects i32 indices, got ${v.dtype}`);
}

export function gatherKernel(b: CudaBackend, args: KernelArgs<PrimitiveAttrs['gather']>): void {
  const table = args.inputs[0]!, ids = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  if (table.dtype !== y.dtype) throw new DTypeError(`cuda kernel 'gather': dtype mismatch (${table.dtype}, ${y.dtype})`);
  checkIndices('gather', ids);
  if (n * d === 0) return;
  const bits = bitsType(table.dtype);
  const fn = b.fn(`gather:${bits}`, () => gatherSource(bits), 'k');
  b.launch(fn, blocksFor(n * d), BLOCK, new CudaParams().ptr(b.ptr(y)).ptr(b.ptr(table)).ptr(b.ptr(ids)).ptr(b.statusPtr).i64(v).i64(d).i64(n));
}

const ATOMIC: Partial<Record<DType, 'float' | 'int'>> = { f32: 'float', i32: 'int' };

export function scatterAddKernel(b: CudaBackend, args: KernelArgs<PrimitiveAttrs['scatterAdd']>): void {
  const src = args.inputs[0]!, ids = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  if (src.dtype !== y.dtype) throw new DTypeError(`cuda kernel 'scatterAdd': dtype mismatch (${src.dtype}, ${y.dtype})`);
  const ctype = ATOMIC[src.dtype];
  if (!ctype) throw new DTypeError(`cuda kernel 'scatterAdd' does not support dtype ${src.dtype}; supported: f32, i32`);
  checkIndices('scatterAdd', ids);
  if (v * d === 0) return;
  b.ctx.memset(b.ptr(y), 0, v * d, 4);
  if (n * d === 0) return;
  const fn = b.fn(`scatterAdd:${src.dtype}`, () => scatterAddSource(ctype), 'k');
  b.launch(fn, blocksFor(n * d), BLOCK, new CudaParams().ptr(b.ptr(y)).ptr(b.ptr(src)).ptr(b.ptr(ids)).ptr(b.statusPtr).i64(v).i64(d).i64(n));
}
