import type { View } from '@adapterkit/core';

/** Coalesced rank the addon accepts (native/common.h kMaxDims). */
export const MAX_DIMS = 8;

/**
 * Describes views of one shape (output first) for the addon's elementwise
 * kernels: Float64Array [rank, shape..., then per view: offset, strides...].
 * Axes of size 1 are dropped and neighbouring axes merged wherever every view
 * is contiguous across them, so contiguous views become one run and a
 * row-broadcast [m, n] (strides [0, 1]) stays two axes. Returns null when
 * shapes differ or the coalesced rank exceeds MAX_DIMS (callers then use the
 * reference kernel, which reports shape errors itself).
 */
export function layoutOf(views: readonly View[]): Float64Array | null {
  const shape = views[0]!.shape;
  const rank = shape.length;
  for (const v of views) {
    if (v.shape.length !== rank) return null;
    for (let i = 0; i < rank; i++) if (v.shape[i] !== shape[i]) return null;
  }
  const nv = views.length;
  // dims innermost first: [size, stride of view 0, stride of view 1, ...]
  const dims: number[][] = [];
  let empty = false;
  for (let a = rank - 1; a >= 0; a--) {
    const size = shape[a]!;
    if (size === 0) empty = true;
    if (size === 1) continue;
    const prev = dims[dims.length - 1];
    let merge = prev !== undefined;
    if (prev) {
      for (let v = 0; v < nv; v++) {
        if (views[v]!.strides[a] !== prev[v + 1]! * prev[0]!) {
          merge = false;
          break;
        }
      }
    }
    if (merge) prev![0] = prev![0]! * size;
    else {
      const d = [size];
      for (let v = 0; v < nv; v++) d.push(views[v]!.strides[a]!);
      dims.push(d);
    }
  }
  if (empty) {
    const out = new Float64Array(1 + 1 + nv * 2);
    out[0] = 1; // rank 1, size 0: nothing to do
    return out;
  }
  const nd = dims.length;
  if (nd > MAX_DIMS) return null;
  const out = new Float64Array(1 + nd + nv * (1 + nd));
  out[0] = nd;
  for (let d = 0; d < nd; d++) out[1 + d] = dims[nd - 1 - d]![0]!;
  for (let v = 0; v < nv; v++) {
    const base = 1 + nd + v * (1 + nd);
    out[base] = views[v]!.offset;
    for (let d = 0; d < nd; d++) out[base + 1 + d] = dims[nd - 1 - d]![v + 1]!;
  }
  return out;
}
