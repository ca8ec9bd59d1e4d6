/**
 * Finite-difference gradient checks on the reference CPU backend in f64.
 *
 * `gradcheck(fn, inputs)` compares the analytic gradient (from `backward`) of
 * a scalar function of several tensors against central differences:
 *
 *   numeric_j = (f(x + eps·e_j) − f(x − eps·e_j)) / (2·eps),   eps = 1e-6
 *
 * and passes when for every element |analytic − numeric| ≤ atol + rtol·|numeric|
 * with atol = 1e-6 and rtol = 1e-5 (overridable). In f64 the central difference
 * has truncation error ~eps²·f''' ≈ 1e-12 and rounding error ~1e-16·|f|/eps ≈
 * 1e-10·|f|, well inside that tolerance for the O(1) values used in the tests.
 *
 * If `fn` returns a non-scalar tensor y, the checked scalar is Σ y·w with a fixed
 * pseudo-random weight w (so every output element gets a different upstream
 * gradient, which catches transposed or mis-broadcast rules that a gradient of
 * ones would hide).
 *
 * Inputs are given as host data; float inputs are created as f64 tensors on
 * 'cpu-ref', integer/u8 ones keep their dtype and get no gradient. Data are read
 * back with dataSync. After the check, the live tensor and buffer counts must
 * be back at their starting level (so gradient rules that leak are caught too).
 */
import { expect } from 'vitest';
import {
  backward,
  liveTensors,
  memory,
  mul,
  noGrad,
  sum,
  tensor,
  tidy,
  keep,
  type DType,
  type Tensor,
} from '../src/index.js';

/** A gradcheck input: f64 data (gets a gradient) or integer/mask data (does not). */
export interface CheckInput {
  data: readonly number[] | Float64Array;
  shape: readonly number[];
  /** Default 'f64'. Non-float dtypes are passed through without gradient. */
  dtype?: DType;
  /** Default true for float inputs. */
  requiresGrad?: boolean;
}

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Called before every evaluation of fn (e.g. to reseed the random stream). */
  beforeEach?: () => void;
  /** Check that tensors and buffers return to their starting level (default true). */
  checkLeaks?: boolean;
}

export interface GradcheckReport {
  /** Largest |analytic − numeric| over all elements. */
  maxAbsError: number;
  /** Number of elements checked. */
  checked: number;
}

/** f64 data in [lo, hi) from a small deterministic generator (values away from 0 when `avoid` is set). */
export function randomData(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out.push(lo + ((s >>> 8) / 16777216) * (hi - lo));
  }
  return out;
}

/** Convenience: an f64 input of the given shape with random data in [lo, hi). */
export function rnd(shape: readonly number[], seed: number, lo = -1, hi = 1): CheckInput {
  return { data: randomData(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape };
}

/** Convenience: a non-differentiable input (ids, masks). */
export function fixed(data: readonly number[], shape: readonly number[], dtype: DType): CheckInput {
  return { data, shape, dtype, requiresGrad: false };
}

const isFloatDType = (d: DType): boolean => d === 'f64' || d === 'f32';

function make(inp: CheckInput, values: readonly number[] | Float64Array, grad: boolean): Tensor {
  const dtype = inp.dtype ?? 'f64';
  return tensor(Array.from(values), inp.shape, { dtype, backend: 'cpu-ref', requiresGrad: grad });
}

/** Evaluates fn and reduces its output to a number (Σ y·w for non-scalar y). */
function scalarOf(y: Tensor, weights: Map<string, Tensor>): Tensor {
  if (y.size === 1) return y;
  const key = `${y.dtype}:${y.shape.join(',')}`;
  let w = weights.get(key);
  if (!w) {
    w = keep(tensor(randomData(y.size, 977 + y.size, 0.5, 1.5), y.shape, { dtype: y.dtype, backend: 'cpu-ref' }));
    weights.set(key, w);
  }
  return sum(mul(y, w));
}

/**
 * Checks analytic against numeric gradients of fn at the given inputs; throws
 * (through vitest's expect) with the worst mismatches listed.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: CheckInput[], opts: GradcheckOptions = {}): GradcheckReport {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const startTensors = liveTensors();
  const startBuffers = memory('cpu-ref').liveBuffers;
  const weights = new Map<string, Tensor>();
  const wants = inputs.map((inp) => (inp.requiresGrad ?? true) && isFloatDType(inp.dtype ?? 'f64'));

  // Analytic gradients (intermediates of fn are freed by tidy; grads are kept tensors).
  const analytic = tidy(() => {
    opts.beforeEach?.();
    const leaves = inputs.map((inp, i) => make(inp, inp.data, wants[i]!));
    const s = scalarOf(fn(...leaves), weights);
    expect(s.requiresGrad, 'fn output does not depend on any differentiable input').toBe(true);
    backward(s);
    return leaves.map((t, i) => {
      const g = t.grad;
      t.grad = null;
      if (!wants[i]) return null;
      if (!g) return new Array<number>(t.size).fill(0);
      expect(g.shape).toEqual(t.shape);
      const values = Array.from(g.dataSync());
      g.dispose();
      return values;
    });
  });

  // Numeric gradients.
  const evalAt = (which: number, values: number[]): number =>
    noGrad(() =>
      tidy(() => {
        opts.beforeEach?.();
        const ts = inputs.map((inp, i) => make(inp, i === which ? values : inp.data, false));
        return scalarOf(fn(...ts), weights).dataSync()[0]!;
      }),
    );

  const failures: string[] = [];
  let maxAbsError = 0;
  let checked = 0;
  inputs.forEach((inp, i) => {
    if (!wants[i]) return;
    const base = Array.from(inp.data);
    for (let j = 0; j < base.length; j++) {
      const plus = [...base];
      plus[j] = base[j]! + eps;
      const minus = [...base];
      minus[j] = base[j]! - eps;
      const numeric = (evalAt(i, plus) - evalAt(i, minus)) / (2 * eps);
      const a = analytic[i]![j]!;
      const err = Math.abs(a - numeric);
      checked++;
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        failures.push(`input ${i}${JSON.stringify(inp.shape)} element ${j}: analytic ${a}, numeric ${numeric}, |diff| ${err}`);
      }
      if (err > maxAbsError || Number.isNaN(err)) maxAbsError = Number.isNaN(err) ? NaN : err;
    }
  });
  for (const w of weights.values()) w.dispose();

  expect(failures.slice(0, 10), `${failures.length} of ${checked} gradient elements differ from finite differences`).toEqual([]);
  if (opts.checkLeaks ?? true) {
    expect(liveTensors(), 'tensors leaked by gradcheck(fn)').toBe(startTensors);
    expect(memory('cpu-ref').liveBuffers, 'buffers leaked by gradcheck(fn)').toBe(startBuffers);
  }
  return { maxAbsError, checked };
}
