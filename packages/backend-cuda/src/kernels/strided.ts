import { ShapeError, formatShape, type View } from '@adapterkit/core';
import type { CudaParams } from '../params.js';

/** Most axes a strided kernel indexes (after coalescing, see below). */
export const MAX_RANK = 8;

/**
 * Several views of one shape (output first, then inputs), reduced to the
 * fewest axes that describe them: axes of size 1 are dropped and neighbours
 * merged wherever every view is contiguous across them. Contiguous views
 * become one axis; a row broadcast ([m, n] with strides [0, 1]) two.
 */
export interface StridedLayout {
  /** Coalesced shape, outermost first (at least one axis). */
  shape: number[];
  /** strides[view][axis], in elements (0 = broadcast). */
  strides: number[][];
  /** Element offset of each view. */
  offsets: number[];
  /** Number of elements. */
  n: number;
  /** Whether every element index and address fits in 32 bits (the kernel then indexes with int). */
  narrow: boolean;
}

const INT32_LIMIT = 2 ** 31;

export function coalesce(kernel: string, views: readonly View[]): StridedLayout {
  const shape = views[0]!.shape;
  const rank = shape.length;
  for (const v of views) {
    if (v.shape.length !== rank || v.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`cuda kernel '${kernel}': view shapes differ (${views.map((x) => formatShape(x.shape)).join(' vs ')}); core must broadcast inputs to the output shape`);
    }
  }
  const n = shape.reduce((p, d) => p * d, 1);
  // dims[j] = [size, stride of view 0, stride of view 1, ...], innermost first.
  const dims: number[][] = [];
  for (let a = rank - 1; a >= 0; a--) {
    const size = shape[a]!;
    if (size === 1) continue;
    const strides = views.map((v) => v.strides[a]!);
    const prev = dims[dims.length - 1];
    if (prev && strides.every((s, i) => s === prev[i + 1]! * prev[0]!)) prev[0] = prev[0]! * size;
    else dims.push([size, ...strides]);
  }
  if (!dims.length) dims.push([1, ...views.map(() => 0)]);
  dims.reverse();
  if (dims.length > MAX_RANK) {
    throw new ShapeError(`cuda kernel '${kernel}': views of ${formatShape(shape)} need ${dims.length} strided axes after merging; at most ${MAX_RANK} are supported (make an input contiguous first)`);
  }
  const offsets = views.map((v) => v.offset);
  const strides = views.map((_, i) => dims.map((d) => d[i + 1]!));
  let narrow = n < INT32_LIMIT;
  for (let i = 0; i < views.length && narrow; i++) {
    const reach = offsets[i]! + dims.reduce((s, d) => s + (d[0]! - 1) * Math.abs(d[i + 1]!), 0);
    narrow = reach < INT32_LIMIT;
  }
  return { shape: dims.map((d) => d[0]!), strides, offsets, n, narrow };
}

/** CUDA C for the layout struct of a kernel over `ops` views with `rank` axes. */
export function stridedStructSource(rank: number, ops: number, narrow: boolean): string {
  return `#define RANK ${rank}
#define NOPS ${ops}
typedef ${narrow ? 'int' : 'long long'} IDX;
struct Idx { IDX shape[RANK]; IDX st[NOPS][RANK]; IDX off[NOPS]; };
// Element offsets of linear index i in every view.
__device__ __forceinline__ void locate(const Idx& p, IDX i, IDX (&o)[NOPS]) {
#pragma unroll
  for (int k = 0; k < NOPS; k++) o[k] = p.off[k];
#pragma unroll
  for (int d = RANK - 1; d >= 0; d--) {
    IDX c = i;
    if (d > 0) { c = i % p.shape[d]; i /= p.shape[d]; }
#pragma unroll
    for (int k = 0; k < NOPS; k++) o[k] += c * p.st[k][d];
  }
}`;
}

/** Writes the layout struct (and nothing else) into the parameter block. */
export function packStrided(params: CudaParams, layout: StridedLayout): CudaParams {
  const put = (v: number): void => {
    if (layout.narrow) params.i32(v);
    else params.i64(v);
  };
  params.align(layout.narrow ? 4 : 8);
  for (const d of layout.shape) put(d);
  for (const s of layout.strides) for (const x of s) put(x);
  for (const o of layout.offsets) put(o);
  return params;
}
