import { contiguousStrides, shapeSize } from '../tensor/shape.js';

/**
 * Input layouts for elementwise kernels. Each layout describes how a view of
 * the output's shape sits in a storage: transposed, sliced with an offset,
 * with a non-unit inner step, or broadcast with stride 0. Storage elements
 * outside the view are filled with a poison value (NaN for floats), so a
 * kernel that ignores strides or the offset reads poison and fails.
 */
export type Layout =
  | 'contiguous'
  | 'transposed'
  | 'sliced'
  | 'stepped'
  | 'rowBroadcast'
  | 'colBroadcast'
  | 'scalar'
  | 'permuted';

export interface LayoutSpec {
  /** Shape of the uploaded (contiguous) storage tensor. */
  storageShape: number[];
  /** The view handed to the kernel. */
  shape: number[];
  strides: number[];
  offset: number;
}

/** Describes a view of `shape` in the given layout. */
export function layoutFor(layout: Layout, shape: readonly number[]): LayoutSpec {
  const rank = shape.length;
  const out = [...shape];
  switch (layout) {
    case 'contiguous':
      return { storageShape: out, shape: out, strides: contiguousStrides(out), offset: 0 };
    case 'transposed': {
      // The storage holds the last two axes swapped; the view swaps them back.
      if (rank < 2) throw new Error(`layout 'transposed' needs rank ≥ 2, got [${shape.join(', ')}]`);
      const storageShape = [...out];
      [storageShape[rank - 2], storageShape[rank - 1]] = [storageShape[rank - 1]!, storageShape[rank - 2]!];
      const s = contiguousStrides(storageShape);
      const strides = [...s];
      [strides[rank - 2], strides[rank - 1]] = [s[rank - 1]!, s[rank - 2]!];
      return { storageShape, shape: out, strides, offset: 0 };
    }
    case 'permuted': {
      // Rank 4 (a, b, c, d) stored as (a, c, b, d): a permute(0, 2, 1, 3) view, as in attention heads.
      if (rank !== 4) throw new Error(`layout 'permuted' needs rank 4, got [${shape.join(', ')}]`);
      const storageShape = [out[0]!, out[2]!, out[1]!, out[3]!];
      const s = contiguousStrides(storageShape);
      return { storageShape, shape: out, strides: [s[0]!, s[2]!, s[1]!, s[3]!], offset: 0 };
    }
    case 'sliced': {
      // Every axis padded by (axis + 2) elements; the view starts at (axis + 1) along each axis.
      const storageShape = out.map((d, i) => d + i + 2);
      const strides = contiguousStrides(storageShape);
      const offset = strides.reduce((acc, st, i) => acc + st * (i + 1), 0);
      return { storageShape, shape: out, strides, offset };
    }
    case 'stepped': {
      // Every second element of the innermost axis, starting at 1.
      if (rank < 1) throw new Error(`layout 'stepped' needs rank ≥ 1`);
      const storageShape = [...out];
      storageShape[rank - 1] = 2 * out[rank - 1]!;
      const s = contiguousStrides(storageShape);
      const strides = [...s];
      strides[rank - 1] = 2;
      return { storageShape, shape: out, strides, offset: 1 };
    }
    case 'rowBroadcast': {
      // Storage is the trailing axes; the leading axis is broadcast (stride 0).
      if (rank < 1) throw new Error(`layout 'rowBroadcast' needs rank ≥ 1`);
      const storageShape = out.slice(1);
      return { storageShape, shape: out, strides: [0, ...contiguousStrides(storageShape)], offset: 0 };
    }
    case 'colBroadcast': {
      // Storage is the leading axis; every other axis is broadcast (stride 0).
      if (rank < 1) throw new Error(`layout 'colBroadcast' needs rank ≥ 1`);
      return { storageShape: [out[0]!], shape: out, strides: [1, ...new Array<number>(rank - 1).fill(0)], offset: 0 };
    }
    case 'scalar':
      return { storageShape: [], shape: out, strides: new Array<number>(rank).fill(0), offset: 0 };
  }
}

/** Which storage elements a view reads (true = visible). */
export function visibleMask(spec: LayoutSpec): Uint8Array {
  const mask = new Uint8Array(shapeSize(spec.storageShape));
  const n = shapeSize(spec.shape);
  const rank = spec.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let pos = spec.offset;
  for (let i = 0; i < n; i++) {
    mask[pos] = 1;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      pos += spec.strides[d]!;
      if (idx[d]! < spec.shape[d]!) break;
      pos -= spec.strides[d]! * spec.shape[d]!;
      idx[d] = 0;
    }
  }
  return mask;
}
