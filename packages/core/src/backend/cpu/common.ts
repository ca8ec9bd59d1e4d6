import { DTypeError } from '../../errors.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { View } from '../backend.js';

/** Name the reference CPU backend registers under. */
export const CPU_BACKEND_NAME = 'cpu-ref';

/** Float dtypes the math kernels compute in (JS doubles, stored back into the typed array). */
export const FLOAT_DTYPES: readonly DType[] = ['f32', 'f64'];
/** Float dtypes plus i32, for kernels whose integer meaning is exact (add, max, sum, ...). */
export const FLOAT_I32: readonly DType[] = ['f32', 'f64', 'i32'];
/** Every dtype except the 16-bit float bit patterns (which need decoding before arithmetic). */
export const NUMERIC_DTYPES: readonly DType[] = ['f32', 'f64', 'i32', 'u8', 'i8'];
/** All dtypes: kernels that only move bits (copy, where). */
export const ALL_DTYPES: readonly DType[] = ['f32', 'f64', 'f16', 'bf16', 'i32', 'u8', 'i8'];

/** Throws the standard "unsupported dtype" error unless `dtype` is in `allowed`. */
export function checkDType(kernel: string, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype)) {
    const hint = dtype === 'f16' || dtype === 'bf16' ? '; cast to f32 first' : `; supported: ${allowed.join(', ')}`;
    throw new DTypeError(`${CPU_BACKEND_NAME} kernel '${kernel}' does not support dtype ${dtype}${hint}`);
  }
}

/** Throws unless every view has the same dtype (core casts before calling kernels). */
export function checkSameDType(kernel: string, views: readonly View[]): void {
  const d = views[0]!.dtype;
  for (const v of views) {
    if (v.dtype !== d) throw new DTypeError(`${CPU_BACKEND_NAME} kernel '${kernel}': dtype mismatch (${views.map((x) => x.dtype).join(', ')})`);
  }
}

/**
 * The typed array behind a view. CPU storages keep their array in `handle`.
 * Kernels index it with `view.offset` added; they never allocate per element.
 */
export function arrayOf(view: View): TypedArray {
  return view.storage.handle as TypedArray;
}

/** Same as arrayOf, typed as a float array (f32/f64 after checkDType). Saves casts in float kernels. */
export function floatArrayOf(view: View): Float32Array | Float64Array {
  return view.storage.handle as Float32Array | Float64Array;
}

/** Row scratch reused across calls so row-wise kernels don't allocate per call. */
let scratch = new Float64Array(1024);
export function f64Scratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}
