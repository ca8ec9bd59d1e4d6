import { assertSameDType, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { ShapeError, formatShape } from '../errors.js';
import { broadcastShapes, shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from './binary.js';
import { sumToShape } from './reduce.js';
import { contiguous, expand, reshape, transpose } from './shape.js';

/** How a (…, rows, cols) operand is handed to the matmul kernel without copying, if it can be. */
interface Operand {
  tensor: Tensor;
  trans: boolean;
  batchStride: number;
  owned: boolean;
}

/** Stride pattern check: batch axes either all broadcast (0) or densely packed. */
function batchStride(t: Tensor, batchShape: readonly number[], matSize: number): number | null {
  const nb = t.rank - 2;
  const own = t.shape.slice(0, nb);
  if (shapeSize(own) === 1) return 0;
  if (own.length !== batchShape.length || own.some((d, i) => d !== batchShape[i])) return null;
  let expect = matSize;
  for (let i = nb - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.strides[i] !== expect) return null;
    expect *= t.shape[i]!;
  }
  return matSize;
}

function prepare(t: Tensor, batchShape: readonly number[]): Operand {
  const rows = t.shape[t.rank - 2]!;
  const cols = t.shape[t.rank - 1]!;
  const sr = t.strides[t.rank - 2]!;
  const sc = t.strides[t.rank - 1]!;
  const plain = (sc === 1 || cols === 1) && (sr === cols || rows === 1);
  const trans = !plain && (sr === 1 || rows === 1) && (sc === rows || cols === 1);
  if (plain || trans) {
    const bs = batchStride(t, batchShape, rows * cols);
    if (bs !== null) return { tensor: t, trans, batchStride: bs, owned: false };
  }
  // Any other layout (or a partly broadcast batch) is materialised once.
  const full = expand(t, [...batchShape, rows, cols]);
  const c = contiguous(full);
  if (full !== t && full !== c) full.dispose();
  return { tensor: c, trans: false, batchStride: shapeSize(batchShape) === 1 ? 0 : rows * cols, owned: c !== t };
}

/**
 * Matrix product with NumPy batch broadcasting: (…, m, k) @ (…, k, n) → (…, m, n).
 * Transposed views (from `transpose`) are passed to the kernel without a copy.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const dtype = assertSameDType('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: operands need rank ≥ 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const n = b.shape[b.rank - 1]!;
  if (b.shape[b.rank - 2] !== k) {
    throw new ShapeError(`matmul: inner dimensions differ: ${formatShape(a.shape)} @ ${formatShape(b.shape)} (${k} vs ${b.shape[b.rank - 2]})`);
  }
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul (batch axes)');
  const batch = shapeSize(batchShape);
  const pa = prepare(a, batchShape);
  const pb = prepare(b, batchShape);
  const [y] = runKernel('matmul', [pa.tensor, pb.tensor], [{ shape: [...batchShape, m, n], dtype }], {
    batch, m, n, k, transA: pa.trans, transB: pb.trans, aBatchStride: pa.batchStride, bBatchStride: pb.batchStride,
  });
  if (pa.owned) pa.tensor.dispose();
  if (pb.owned) pb.tensor.dispose();
  record('matmul', [a, b], [y!], [a, b], ([dy], [sa, sb], needs) => [
    needs[0] ? sumToShape(matmul(dy!, transpose(sb!)), sa!.shape) : null,
    needs[1] ? sumToShape(matmul(transpose(sa!), dy!), sb!.shape) : null,
  ]);
  return y!;
}

/**
 * y = x·Wᵀ + b, the PyTorch Linear convention: x (…, in), weight (out, in), bias (out).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inF = weight.shape[1]!;
  if (x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`linear: input ${formatShape(x.shape)} has ${x.shape[x.rank - 1]} features, weight ${formatShape(weight.shape)} expects ${inF}`);
  }
  const lead = x.shape.slice(0, -1);
  const x2 = reshape(x, [shapeSize(lead), inF]);
  const wt = transpose(weight);
  const y2 = matmul(x2, wt);
  const withBias = bias ? add(y2, bias) : y2;
  const y = reshape(withBias, [...lead, weight.shape[0]!]);
  for (const t of [x2, wt, y2, withBias]) if (t !== x && t !== y) t.dispose();
  return y;
}
