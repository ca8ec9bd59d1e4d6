import type { Backend } from '../backend/backend.js';
import { emptyTensor, runKernel } from '../backend/dispatch.js';
import { backendByName, getBackend } from '../backend/registry.js';
import { ShapeError, formatShape } from '../errors.js';
import { takeRandomCounters } from '../random/generator.js';
import { arrayMatchesDType, assertDType, fromNumbers, type DType, type TypedArray } from '../tensor/dtype.js';
import { assertValidShape, shapeSize, type Shape } from '../tensor/shape.js';
import type { NestedArray, Tensor } from '../tensor/tensor.js';

/** Where and how to create a tensor. */
export interface CreateOptions {
  dtype?: DType;
  /** Backend instance or name; the current backend by default. */
  backend?: Backend | string;
  requiresGrad?: boolean;
}

function resolveBackend(b: Backend | string | undefined): Backend {
  if (b === undefined) return getBackend();
  return typeof b === 'string' ? backendByName(b) : b;
}

function flatten(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (typeof data === 'number') {
    if (depth !== shape.length) throw new ShapeError('tensor(): ragged nested array');
    out.push(data);
    return;
  }
  if (shape.length === depth) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new ShapeError(`tensor(): ragged nested array at depth ${depth}: ${data.length} vs ${shape[depth]}`);
  for (const d of data) flatten(d, shape, out, depth + 1);
}

/**
 * Creates a tensor from numbers (flat with `shape`, nested arrays, or a typed
 * array). Default dtype f32, or the typed array's own dtype for Int32Array /
 * Float64Array / Uint8Array / Int8Array.
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], shape?: Shape, opts: CreateOptions = {}): Tensor {
  let values: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    values = data as TypedArray;
    inferred = [data.length];
  } else if (typeof data === 'number') {
    values = [data];
    inferred = [];
  } else {
    const flat: number[] = [];
    inferred = [];
    flatten(data as NestedArray, inferred, flat);
    values = flat;
  }
  const finalShape = shape ? [...shape] : inferred;
  assertValidShape(finalShape);
  if (shapeSize(finalShape) !== values.length) {
    throw new ShapeError(`tensor(): ${values.length} values do not fill shape ${formatShape(finalShape)}`);
  }
  const dtype = opts.dtype ?? defaultDTypeOf(data);
  assertDType(dtype);
  const backend = resolveBackend(opts.backend);
  const t = emptyTensor(finalShape, dtype, backend);
  const encoded = ArrayBuffer.isView(data) && arrayMatchesDType(data as TypedArray, dtype) ? (data as TypedArray) : fromNumbers(values, dtype);
  backend.write(t.storage, encoded);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function defaultDTypeOf(data: unknown): DType {
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Int8Array) return 'i8';
  return 'f32';
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  assertValidShape(shape);
  const [t] = runKernel('fill', [], [{ shape, dtype: opts.dtype ?? 'f32' }], { value }, resolveBackend(opts.backend));
  if (opts.requiresGrad) t!.requiresGrad = true;
  return t!;
}

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** A tensor like `t` (shape, dtype, backend) filled with `value`. */
export function fullLike(t: Tensor, value: number, dtype: DType = t.dtype): Tensor {
  return full(t.shape, value, { dtype, backend: t.backend });
}

export function zerosLike(t: Tensor): Tensor {
  return fullLike(t, 0);
}

export function onesLike(t: Tensor): Tensor {
  return fullLike(t, 1);
}

/** A rank-0 tensor on `like`'s backend with `like`'s dtype. */
export function scalarLike(like: Tensor, value: number): Tensor {
  return full([], value, { dtype: like.dtype, backend: like.backend });
}

/** 0, 1, …, n-1 (i32 by default). */
export function arange(n: number, opts: CreateOptions = {}): Tensor {
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = i;
  return tensor(values, [n], { dtype: 'i32', ...opts });
}

export interface RandomOptions extends CreateOptions {
  /** Explicit seed; when omitted the global stream (manualSeed) supplies seed and counter. */
  seed?: number;
}

function randomKernel(shape: Shape, attrs: Record<string, number | string>, opts: RandomOptions): Tensor {
  assertValidShape(shape);
  const n = shapeSize(shape);
  const { seed, counter } = opts.seed === undefined ? takeRandomCounters(n) : { seed: opts.seed >>> 0, counter: 0 };
  const [t] = runKernel('random', [], [{ shape, dtype: opts.dtype ?? 'f32' }], { ...attrs, seed, counter }, resolveBackend(opts.backend));
  if (opts.requiresGrad) t!.requiresGrad = true;
  return t!;
}

/** Uniform random numbers in [low, high). */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return randomKernel(shape, { distribution: 'uniform', low: opts.low ?? 0, high: opts.high ?? 1 }, opts);
}

/** Normal random numbers. */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return randomKernel(shape, { distribution: 'normal', mean: opts.mean ?? 0, std: opts.std ?? 1 }, opts);
}

/** 1 with probability p, else 0. */
export function bernoulli(shape: Shape, p: number, opts: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli: p must be in [0, 1], got ${p}`);
  return randomKernel(shape, { distribution: 'bernoulli', p }, opts);
}
