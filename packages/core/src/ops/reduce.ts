import { assertFloat, runKernel } from '../backend/dispatch.js';
import { noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { ShapeError, formatShape } from '../errors.js';
import { normalizeAxis, shapeSize, shapesEqual, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cast } from './cast.js';
import { div, eq, mul, mulScalar } from './binary.js';
import { contiguous, expand, reshape } from './shape.js';

/** Axes to reduce: one, several, or all (undefined). */
export type Axes = number | readonly number[] | undefined;

function resolveAxes(x: Tensor, axes: Axes, op: string): number[] {
  if (axes === undefined) return [...Array(x.rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => normalizeAxis(a, x.rank, op)))].sort((a, b) => a - b);
  return out;
}

/**
 * Runs a reduce kernel over sorted axes. Adjacent axes merge into one kernel
 * call; separate runs go one call each, from the last axis backwards.
 */
function reduceRaw(kernel: string, x: Tensor, axes: number[]): Tensor {
  // The reduction records its gradient on x itself, so this copy needs no graph node.
  let cur = noGrad(() => contiguous(x));
  let shape = [...x.shape];
  const owned: Tensor[] = cur === x ? [] : [cur];
  let i = axes.length - 1;
  while (i >= 0) {
    let lo = axes[i]!;
    const hi = axes[i]!;
    while (i > 0 && axes[i - 1] === lo - 1) lo = axes[--i]!;
    i--;
    const outer = shapeSize(shape.slice(0, lo));
    const red = shapeSize(shape.slice(lo, hi + 1));
    const inner = shapeSize(shape.slice(hi + 1));
    shape = [...shape.slice(0, lo), ...new Array(hi - lo + 1).fill(1), ...shape.slice(hi + 1)];
    const [y] = runKernel(kernel, [cur], [{ shape, dtype: kernel === 'argmax' ? 'i32' : x.dtype }], { outer, reduce: red, inner });
    owned.push(y!);
    cur = y!;
  }
  for (const t of owned) if (t !== cur) t.dispose();
  return cur;
}

function finish(y: Tensor, x: Tensor, axes: number[], keepDim: boolean): Tensor {
  if (keepDim) return y;
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  const out = reshape(y, shape);
  if (out !== y) y.dispose();
  return out;
}

/** Sum over axes (all by default). */
export function sum(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  const ax = resolveAxes(x, axes, 'sum');
  if (ax.length === 0) return x;
  const kept = reduceRaw('sum', x, ax);
  const fromShape = x.shape;
  record('sum', [x], [kept], [], ([dy]) => [expand(dy!, fromShape)]);
  return finish(kept, x, ax, keepDim);
}

/** Mean over axes (all by default). */
export function mean(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  assertFloat('mean', x);
  const ax = resolveAxes(x, axes, 'mean');
  const count = ax.reduce((p, a) => p * x.shape[a]!, 1);
  const s = sum(x, ax, keepDim);
  const y = mulScalar(s, 1 / count);
  if (s !== x) s.dispose();
  return y;
}

function extremum(kernel: 'max' | 'min', x: Tensor, axes: Axes, keepDim: boolean): Tensor {
  const ax = resolveAxes(x, axes, kernel);
  if (ax.length === 0) return x;
  const kept = reduceRaw(kernel, x, ax);
  const fromShape = x.shape;
  // Ties share the gradient equally, so the rule is symmetric.
  record(kernel, [x], [kept], [x, kept], ([dy], [xs, ys]) => {
    const hit = cast(eq(xs!, expand(ys!, fromShape)), xs!.dtype);
    const ties = sum(hit, ax, true);
    return [div(mul(hit, expand(dy!, fromShape)), expand(ties, fromShape))];
  });
  return finish(kept, x, ax, keepDim);
}

/** Maximum over axes (ties share the gradient). */
export function max(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  return extremum('max', x, axes, keepDim);
}

/** Minimum over axes (ties share the gradient). */
export function min(x: Tensor, axes?: Axes, keepDim = false): Tensor {
  return extremum('min', x, axes, keepDim);
}

/** Index of the first maximum along one axis (i32, no gradient). */
export function argmax(x: Tensor, axis = -1, keepDim = false): Tensor {
  const a = normalizeAxis(axis, x.rank, 'argmax');
  return finish(reduceRaw('argmax', x, [a]), x, [a], keepDim);
}

/**
 * Sums a broadcast gradient back to `shape` (the inverse of broadcasting):
 * extra leading axes and axes that were 1 are summed.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  if (shape.length > g.rank) throw new ShapeError(`sumToShape: cannot reduce ${formatShape(g.shape)} to ${formatShape(shape)}`);
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, axes, true);
  const out = reshape(s, shape);
  if (out !== s) s.dispose();
  return out;
}
