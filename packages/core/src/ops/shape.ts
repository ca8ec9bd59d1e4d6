import { runKernel, runKernelInto, assertSameDType } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { ShapeError, formatShape } from '../errors.js';
import { inferReshape, normalizeAxis, shapeSize, shapesEqual, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from './creation.js';
import { sumToShape } from './reduce.js';

/** A tensor object sharing `x`'s storage with another layout. */
function makeView(x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, strides, offset);
}

/** Returns `x` if already contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const [y] = runKernel('copy', [x], [{ shape: x.shape, dtype: x.dtype }]);
  record('contiguous', [x], [y!], [], ([dy]) => [dy!]);
  return y!;
}

/** Same elements, new shape (one entry may be -1). A view when `x` is contiguous. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = inferReshape(x.size, shape, x.shape);
  const src = contiguous(x);
  const y = makeView(src, target, contiguousStrides(target), src.offset);
  const fromShape = x.shape;
  record('reshape', [src], [y], [], ([dy]) => [reshape(dy!, fromShape)]);
  if (src !== x) src.dispose();
  return y;
}

function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Flattens axes [start, end] into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis(start, x.rank, 'flatten');
  const e = normalizeAxis(end, x.rank, 'flatten');
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** Inserts a size-1 axis. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Removes size-1 axes (all of them, or the one given). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${formatShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

/** Reorders axes (a view). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.rank) throw new ShapeError(`permute: ${dims.length} dims given for a tensor of rank ${x.rank}`);
  const axes = dims.map((d) => normalizeAxis(d, x.rank, 'permute'));
  if (new Set(axes).size !== axes.length) throw new ShapeError(`permute: repeated axis in [${dims.join(', ')}]`);
  const y = makeView(x, axes.map((a) => x.shape[a]!), axes.map((a) => x.strides[a]!), x.offset);
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  record('permute', [x], [y], [], ([dy]) => [permute(dy!, inverse)]);
  return y;
}

/** Swaps two axes (a view); defaults to the last two. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = [...Array(x.rank).keys()];
  const i = normalizeAxis(a, x.rank, 'transpose');
  const j = normalizeAxis(b, x.rank, 'transpose');
  [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  return permute(x, dims);
}

/** Broadcasts to a larger shape without copying (stride-0 view). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const rank = shape.length;
  if (rank < x.rank) throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to fewer dimensions ${formatShape(shape)}`);
  const strides = new Array<number>(rank);
  const target = [...shape];
  for (let i = 0; i < rank; i++) {
    const src = i - (rank - x.rank);
    const have = src < 0 ? 1 : x.shape[src]!;
    if (target[i] === -1) target[i] = have;
    if (have !== target[i] && have !== 1) throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}`);
    strides[i] = src < 0 || (have === 1 && target[i] !== 1) ? 0 : x.strides[src]!;
  }
  if (shapesEqual(target, x.shape)) return x;
  const y = makeView(x, target, strides, x.offset);
  const fromShape = x.shape;
  record('expand', [x], [y], [], ([dy]) => [sumToShape(dy!, fromShape)]);
  return y;
}

/** Elements [start, start+length) along `axis` (a view). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'narrow');
  const dim = x.shape[a]!;
  if (start < 0) start += dim;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > dim) {
    throw new ShapeError(`narrow: range [${start}, ${start + length}) is out of bounds for axis ${axis} of size ${dim} in ${formatShape(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[a] = length;
  const y = makeView(x, shape, x.strides, x.offset + start * x.strides[a]!);
  const fromShape = x.shape;
  record('narrow', [x], [y], [], ([dy]) => {
    const dx = zeros(fromShape, { dtype: dy!.dtype, backend: dy!.backend });
    const window = makeView(dx, shape, dx.strides, start * dx.strides[a]!);
    runKernelInto('copy', [dy!], window);
    window.dispose();
    return [dx];
  });
  return y;
}

/**
 * Slices every axis: `ranges[i]` is [start, end) (negative values count from
 * the end; end defaults to the axis size); missing entries keep the axis.
 */
export function slice(x: Tensor, ranges: readonly (readonly [number, number?] | null)[]): Tensor {
  let y = x;
  ranges.forEach((r, axis) => {
    if (!r) return;
    const dim = x.shape[axis]!;
    const start = r[0] < 0 ? r[0] + dim : r[0];
    const endRaw = r[1] ?? dim;
    const end = endRaw < 0 ? endRaw + dim : endRaw;
    const next = narrow(y, axis, start, end - start);
    if (y !== x) y.dispose();
    y = next;
  });
  return y;
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const first = xs[0]!;
  const a = normalizeAxis(axis, first.rank, 'concat');
  assertSameDType('concat', ...xs);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${xs.map((u) => formatShape(u.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((s, t) => s + t.shape[a]!, 0);
  const [y] = runKernel('fill', [], [{ shape, dtype: first.dtype }], { value: 0 }, first.backend);
  let start = 0;
  const starts: number[] = [];
  for (const t of xs) {
    starts.push(start);
    const windowShape = [...shape];
    windowShape[a] = t.shape[a]!;
    if (shapeSize(windowShape) > 0) {
      const window = makeView(y!, windowShape, y!.strides, start * y!.strides[a]!);
      runKernelInto('copy', [t], window);
      window.dispose();
    }
    start += t.shape[a]!;
  }
  record('concat', [...xs], [y!], [], ([dy], _saved, needs) =>
    xs.map((t, i) => (needs[i] ? narrow(dy!, a, starts[i]!, t.shape[a]!) : null)),
  );
  return y!;
}

/** Stacks tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const parts = xs.map((t) => unsqueeze(t, axis));
  const y = concat(parts, axis);
  for (const p of parts) p.dispose();
  return y;
}

/** Splits along an axis into pieces of the given sizes (views). */
export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis(axis, x.rank, 'split');
  const total = sizes.reduce((s, d) => s + d, 0);
  if (total !== x.shape[a]) throw new ShapeError(`split: sizes [${sizes.join(', ')}] sum to ${total}, axis ${axis} has ${x.shape[a]}`);
  let start = 0;
  return sizes.map((n) => {
    const part = narrow(x, a, start, n);
    start += n;
    return part;
  });
}
