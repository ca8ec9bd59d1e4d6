import { DTypeError } from '../../errors.js';
import type { TypedArray } from '../../tensor/dtype.js';
import type { KernelArgs } from '../backend.js';
import type { PrimitiveAttrs, ReduceOp } from '../primitives.js';
import { FLOAT_I32, arrayOf, checkDType, f64Scratch } from './common.js';

type ReduceAttrs = PrimitiveAttrs['reduce'];

/**
 * Reduces the middle axis of a contiguous [outer, reduce, inner] input into
 * [outer, inner]. Sums accumulate in doubles (so f32 sums don't drift) and
 * walk memory in order: for inner > 1 the accumulators are a row of `inner`.
 */
export function reduceKernel(op: ReduceOp, args: KernelArgs<ReduceAttrs>): void {
  const x = args.inputs[0]!;
  const y = args.outputs[0]!;
  const { outer, reduce, inner } = args.attrs;
  checkDType(op, x.dtype, FLOAT_I32);
  if (op === 'argmax') {
    if (y.dtype !== 'i32') throw new DTypeError(`cpu-ref kernel 'argmax' writes i32 output, got ${y.dtype}`);
    if (reduce === 0 && outer * inner > 0) throw new RangeError(`cpu-ref kernel 'argmax': cannot reduce an empty axis`);
  } else if (y.dtype !== x.dtype) {
    throw new DTypeError(`cpu-ref kernel '${op}': output dtype ${y.dtype} differs from input ${x.dtype}`);
  }
  const xs = arrayOf(x), ys = arrayOf(y);
  const acc = f64Scratch(inner);
  const idx = op === 'argmax' ? new Int32Array(inner) : null;
  for (let o = 0; o < outer; o++) {
    const base = x.offset + o * reduce * inner;
    const out = y.offset + o * inner;
    if (inner === 1) {
      ys[out] = reduceRow(op, xs, base, reduce);
      continue;
    }
    const init = op === 'sum' ? 0 : op === 'min' ? Infinity : -Infinity;
    acc.fill(init, 0, inner);
    if (idx) idx.fill(0);
    for (let r = 0; r < reduce; r++) accumulate(op, xs, base + r * inner, acc, idx, r, inner);
    if (idx) for (let j = 0; j < inner; j++) ys[out + j] = idx[j]!;
    else for (let j = 0; j < inner; j++) ys[out + j] = acc[j]!;
  }
}

/** Reduces n contiguous elements starting at i (the inner === 1 case). */
function reduceRow(op: ReduceOp, x: TypedArray, i: number, n: number): number {
  const end = i + n;
  switch (op) {
    case 'sum': {
      let s = 0;
      for (; i < end; i++) s += x[i]!;
      return s;
    }
    // NaN propagates: once m is NaN neither test replaces it; a new NaN always does.
    case 'max': {
      let m = -Infinity;
      for (; i < end; i++) { const v = x[i]!; if (v > m || v !== v) m = v; if (m !== m) break; }
      return m;
    }
    case 'min': {
      let m = Infinity;
      for (; i < end; i++) { const v = x[i]!; if (v < m || v !== v) m = v; if (m !== m) break; }
      return m;
    }
    case 'argmax': {
      // First maximum; a NaN counts as the maximum (first NaN wins).
      let best = -Infinity, at = 0;
      for (let r = 0; r < n; r++) {
        const v = x[i + r]!;
        if (v > best) { best = v; at = r; } else if (v !== v) return r;
      }
      return at;
    }
  }
}

/** Folds one [inner] slice of row r into the accumulators. */
function accumulate(op: ReduceOp, x: TypedArray, i: number, acc: Float64Array, idx: Int32Array | null, r: number, n: number): void {
  switch (op) {
    case 'sum': for (let j = 0; j < n; j++) acc[j]! += x[i + j]!; break;
    case 'max': for (let j = 0; j < n; j++) { const v = x[i + j]!; if (v > acc[j]! || v !== v) acc[j] = v; } break;
    case 'min': for (let j = 0; j < n; j++) { const v = x[i + j]!; if (v < acc[j]! || v !== v) acc[j] = v; } break;
    case 'argmax':
      for (let j = 0; j < n; j++) {
        const v = x[i + j]!, m = acc[j]!;
        if (m !== m) continue; // already at a NaN: keep the first one
        if (v > m || v !== v || r === 0) { acc[j] = v; idx![j] = r; }
      }
      break;
  }
}
