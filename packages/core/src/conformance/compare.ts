/**
 * Tolerance comparison of a backend's output against the reference.
 *
 * An element passes when |actual − expected| ≤ atol + rtol·|expected|
 * (the numpy.allclose rule, with the reference as `expected`). NaN matches
 * only NaN, ±Infinity only the same infinity.
 */

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Exact equality (data movement, selections, integer results). */
export const EXACT: Tolerance = Object.freeze({ atol: 0, rtol: 0 });

export interface CompareResult {
  ok: boolean;
  /** Elements compared. */
  size: number;
  /** Largest |actual − expected| over finite pairs (Infinity where one side is non-finite and the other not). */
  maxAbsDiff: number;
  /** Flat index of `maxAbsDiff` (−1 when size is 0). */
  maxAbsDiffIndex: number;
  /** Number of elements outside the tolerance. */
  badCount: number;
  /** Flat index of the first element outside the tolerance (−1 if none). */
  firstBadIndex: number;
  /** Human-readable summary: empty when ok. */
  message: string;
}

export interface CompareOptions {
  /** Prefixed to the message, e.g. "exp [f32] transposed view: output y". */
  label?: string;
  /** Shape of the arrays, to report multi-dimensional coordinates. */
  shape?: readonly number[];
}

/** Row-major coordinates of a flat index. */
export function coordsOf(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    out[d] = n === 0 ? 0 : index % n;
    index = n === 0 ? 0 : Math.floor(index / n);
  }
  return out;
}

function where(index: number, shape?: readonly number[]): string {
  return shape && shape.length > 1 ? `index ${index} [${coordsOf(index, shape).join(', ')}]` : `index ${index}`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e6 ? String(+v.toPrecision(9)) : v.toExponential(6);
}

/** Difference of one pair: 0 when they match as special values, Infinity when only one is special. */
function pairDiff(a: number, e: number): number {
  if (Number.isNaN(e) || Number.isNaN(a)) return Number.isNaN(e) && Number.isNaN(a) ? 0 : Infinity;
  if (!Number.isFinite(e) || !Number.isFinite(a)) return a === e ? 0 : Infinity;
  return Math.abs(a - e);
}

/** The largest |Δ| allowed against reference value `e` (0 for non-finite references). */
function allowedAt(tol: Tolerance, e: number): number {
  return Number.isFinite(e) ? tol.atol + tol.rtol * Math.abs(e) : 0;
}

/** Compares `actual` (backend under test) with `expected` (reference) element by element. */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  opts: CompareOptions = {},
): CompareResult {
  const label = opts.label ? `${opts.label}: ` : '';
  if (actual.length !== expected.length) {
    return {
      ok: false, size: expected.length, maxAbsDiff: Infinity, maxAbsDiffIndex: -1, badCount: expected.length, firstBadIndex: 0,
      message: `${label}length mismatch: got ${actual.length} elements, reference has ${expected.length}`,
    };
  }
  let maxAbsDiff = 0;
  let maxAbsDiffIndex = expected.length > 0 ? 0 : -1;
  let badCount = 0;
  let firstBadIndex = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const d = pairDiff(a, e);
    if (d > maxAbsDiff) {
      maxAbsDiff = d;
      maxAbsDiffIndex = i;
    }
    if (d !== 0 && !(d <= allowedAt(tol, e))) {
      badCount++;
      if (firstBadIndex < 0) firstBadIndex = i;
    }
  }
  const ok = badCount === 0;
  let message = '';
  if (!ok) {
    const fb = firstBadIndex;
    const mi = maxAbsDiffIndex;
    message =
      `${label}${badCount} of ${expected.length} elements outside atol=${tol.atol} + rtol=${tol.rtol}·|ref|; ` +
      `max |Δ| = ${fmt(maxAbsDiff)} at ${where(mi, opts.shape)} (got ${fmt(actual[mi]!)}, ref ${fmt(expected[mi]!)}); ` +
      `first at ${where(fb, opts.shape)} (got ${fmt(actual[fb]!)}, ref ${fmt(expected[fb]!)}, allowed ${fmt(allowedAt(tol, expected[fb]!))})`;
  }
  return { ok, size: expected.length, maxAbsDiff, maxAbsDiffIndex, badCount, firstBadIndex, message };
}

/** Multiplies the absolute tolerance (reductions whose error grows with their length). */
export function scaleAtol(tol: Tolerance, factor: number): Tolerance {
  return { atol: tol.atol * factor, rtol: tol.rtol };
}
