import { DTypeError, type DType, type KernelArgs, type PrimitiveAttrs, type ReduceOp } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { PRELUDE, cudaType } from './prelude.js';

/**
 * sum / max / min / argmax over the middle axis of a contiguous
 * [outer, reduce, inner] input → [outer, inner].
 *
 * One block of BX×BY = 256 threads per (outer row, BX columns): tx picks the
 * column (coalesced loads when inner > 1), the BY lanes of a column stride
 * over the reduced axis, then the lanes combine in shared memory. inner = 1
 * uses BX = 1, BY = 256 (a block per row). Sums accumulate in double for
 * float inputs and in 64-bit integers for i32 (wrapped to int32 at the end,
 * like the reference's Int32Array store). max/min propagate NaN; argmax
 * returns the first maximum, a NaN counting as the maximum (first NaN wins).
 */

const THREADS = 256;

function accType(op: ReduceOp, compute: 'float' | 'int'): string {
  if (op === 'sum') return compute === 'float' ? 'double' : 'long long';
  return compute;
}

/** Per-op CUDA snippets: init, fold one value v (at index r), combine partial b into a. */
function opCode(op: ReduceOp, compute: 'float' | 'int'): { init: string; fold: string; combine: string } {
  const isNan = (x: string): string => (compute === 'float' ? `(${x} != ${x})` : 'false');
  const lowest = compute === 'float' ? '-INF_F' : '(-2147483647 - 1)';
  const highest = compute === 'float' ? 'INF_F' : '2147483647';
  switch (op) {
    case 'sum':
      return { init: 'acc = 0;', fold: 'acc += (ACC)v;', combine: 'a += b;' };
    case 'max':
      return { init: `acc = ${lowest};`, fold: `if (v > acc || ${isNan('v')}) acc = v;`, combine: `if (b > a || ${isNan('b')}) a = b;` };
    case 'min':
      return { init: `acc = ${highest};`, fold: `if (v < acc || ${isNan('v')}) acc = v;`, combine: `if (b < a || ${isNan('b')}) a = b;` };
    case 'argmax':
      // idx = BIG marks "nothing above -inf yet"; it becomes 0 at the end (the reference's default).
      return {
        init: `acc = ${lowest}; idx = BIG;`,
        fold: `if (!${isNan('acc')} && (${isNan('v')} || v > acc)) { acc = v; idx = r; }`,
        combine: `{ bool an = ${isNan('a')}, bn = ${isNan('b')};
          if (an && bn) { if (bi < ai) ai = bi; }
          else if (bn || (!an && (b > a || (b == a && bi < ai)))) { a = b; ai = bi; } }`,
      };
  }
}

export function reduceSource(op: ReduceOp, dtype: DType): string {
  const t = cudaType(op, dtype);
  const acc = accType(op, t.compute);
  const c = opCode(op, t.compute);
  const arg = op === 'argmax';
  const outType = arg ? 'i32' : t.ctype;
  const store = arg ? '(i32)(ai == BIG ? 0 : ai)' : op === 'sum' && t.compute === 'int' ? '(i32)(u32)(u64)a' : t.store(op === 'sum' ? '(float)a' : 'a');
  return `${PRELUDE}
typedef ${acc} ACC;
#define BIG 0x7fffffffffffffffLL
extern "C" __global__ void k(${outType}* __restrict__ y, const ${t.ctype}* __restrict__ x, i64 outer, i64 R, i64 I, int BX, int BY, i64 colBlocks) {
  __shared__ ACC sv[${THREADS}];
  ${arg ? `__shared__ i64 si[${THREADS}];` : ''}
  i64 o = blockIdx.x / colBlocks, j = (blockIdx.x % colBlocks) * BX + threadIdx.x;
  int tx = threadIdx.x, ty = threadIdx.y;
  ACC acc; ${arg ? 'i64 idx;' : ''}
  ${c.init}
  if (j < I) {
    const ${t.ctype}* base = x + o * R * I + j;
    for (i64 r = ty; r < R; r += BY) {
      ACC v = (ACC)${t.load('base[r * I]')};
      ${c.fold}
    }
  }
  sv[ty * BX + tx] = acc; ${arg ? 'si[ty * BX + tx] = idx;' : ''}
  __syncthreads();
  for (int s = BY / 2; s > 0; s >>= 1) {
    if (ty < s) {
      ACC a = sv[ty * BX + tx], b = sv[(ty + s) * BX + tx];
      ${arg ? 'i64 ai = si[ty * BX + tx], bi = si[(ty + s) * BX + tx];' : ''}
      ${c.combine}
      sv[ty * BX + tx] = a; ${arg ? 'si[ty * BX + tx] = ai;' : ''}
    }
    __syncthreads();
  }
  if (ty == 0 && j < I) {
    ACC a = sv[tx]; ${arg ? 'i64 ai = si[tx];' : ''}
    y[o * I + j] = ${store};
  }
}`;
}

/** Block shape: BX columns (a power of two up to 32) × BY lanes, BX·BY = 256. */
export function reduceBlock(inner: number): [number, number] {
  let bx = 1;
  while (bx < inner && bx < 32) bx *= 2;
  return [bx, THREADS / bx];
}

export function reduceKernel(op: ReduceOp, b: CudaBackend, args: KernelArgs<PrimitiveAttrs['reduce']>): void {
  const x = args.inputs[0]!, y = args.outputs[0]!;
  const { outer, reduce, inner } = args.attrs;
  if (op === 'argmax') {
    if (y.dtype !== 'i32') throw new DTypeError(`cuda kernel 'argmax' writes i32 output, got ${y.dtype}`);
    if (reduce === 0 && outer * inner > 0) throw new RangeError(`cuda kernel 'argmax': cannot reduce an empty axis`);
  } else if (y.dtype !== x.dtype) {
    throw new DTypeError(`cuda kernel '${op}': output dtype ${y.dtype} differs from input ${x.dtype}`);
  }
  if (x.dtype === 'u8' || x.dtype === 'i8') throw new DTypeError(`cuda kernel '${op}' does not support dtype ${x.dtype}; supported: f32, f16, bf16, i32`);
  if (outer * inner === 0) return;
  const [bx, by] = reduceBlock(inner);
  const colBlocks = Math.ceil(inner / bx);
  const fn = b.fn(`reduce:${op}:${x.dtype}`, () => reduceSource(op, x.dtype), 'k');
  const p = new CudaParams().ptr(b.ptr(y)).ptr(b.ptr(x)).i64(outer).i64(reduce).i64(inner).i32(bx).i32(by).i64(colBlocks);
  b.launch(fn, outer * colBlocks, [bx, by], p);
}
