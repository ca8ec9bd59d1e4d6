import type { DType } from '../tensor/dtype.js';
import { EXACT, type Tolerance } from './compare.js';

/**
 * Default tolerances of the conformance suite. An element passes when
 * |backend − reference| ≤ atol·scale + rtol·|reference|, where `scale` is 1
 * except for outputs whose rounding error grows with a reduction length
 * (matmul: √k, sum: √reduce, norm backward: √rows or √d, scatterAdd:
 * √(repeats per row)); each case states its scale.
 *
 * f32 (unit roundoff 6e-8, one ulp ≤ 1.2e-7 relative):
 * - EXACT: data movement, selection and integer results (copy, cast, where,
 *   fill, neg, abs, sign, relu, maximum, minimum, comparisons, max, min,
 *   argmax, gather). Every backend can produce these bit for bit.
 * - ARITH {atol 1e-7, rtol 1e-6}: one IEEE operation (add, sub, mul, div,
 *   square, recip). Correct rounding gives 0 difference; 1e-6 leaves ~8 ulp
 *   for approximate division and reciprocal (WGSL allows 2.5 ulp).
 * - TRANSCENDENTAL {atol 1e-6, rtol 1e-5}: exp, log, sqrt, rsqrt, pow, sin,
 *   cos, tanh, sigmoid, erf, gelu, geluTanh, silu. ~80 ulp relative; the
 *   absolute part covers results near zero (sigmoid(−15), gelu(−6)).
 *   Backends with coarse hardware sin/cos (WGSL: 2^-11 absolute) must pass
 *   an override, which then documents their accuracy.
 * - FUSED {atol 1e-5, rtol 1e-4}: multi-step kernels (sum, matmul, softmax,
 *   logSoftmax, layer/RMS norm and backward, cross-entropy and backward,
 *   scatterAdd), whose accumulation order legitimately differs between a
 *   sequential CPU loop and a parallel GPU tree.
 * - random {atol 2e-6, rtol 2e-6}, atol scaled by std for 'normal': the
 *   counter-based generator is specified exactly (the u32 hash and the 24-bit
 *   uniform are bit-identical everywhere; bernoulli is 0/1, so effectively
 *   exact). 'uniform' differs at most by the last rounding of low + u·span
 *   (< 1e-6 here). 'normal' is Box–Muller: computed in f32 with correctly
 *   rounded log/sqrt/cos it differs from the reference (f64, rounded once) by
 *   up to 1.5e-6·(1 + |z|) (measured over 2M samples), so 1e-6 would reject a
 *   correct f32 implementation.
 *
 * f64 (the reference's own precision, for backends that offer it): the same
 * classes with EXACT unchanged and every other class {atol 1e-12, rtol 1e-10}.
 */

export const F32_ARITH: Tolerance = Object.freeze({ atol: 1e-7, rtol: 1e-6 });
export const F32_TRANSCENDENTAL: Tolerance = Object.freeze({ atol: 1e-6, rtol: 1e-5 });
export const F32_FUSED: Tolerance = Object.freeze({ atol: 1e-5, rtol: 1e-4 });
export const F32_RANDOM: Tolerance = Object.freeze({ atol: 2e-6, rtol: 2e-6 });
export const F64_INEXACT: Tolerance = Object.freeze({ atol: 1e-12, rtol: 1e-10 });

const EXACT_KERNELS = new Set([
  'copy', 'cast', 'where', 'fill', 'neg', 'abs', 'sign', 'relu', 'maximum', 'minimum',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'max', 'min', 'argmax', 'gather',
]);
const ARITH_KERNELS = new Set(['add', 'sub', 'mul', 'div', 'square', 'recip']);
const TRANSCENDENTAL_KERNELS = new Set([
  'exp', 'log', 'sqrt', 'rsqrt', 'pow', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'gelu', 'geluTanh', 'silu',
]);

/** The suite's default tolerance for a kernel (or composed case) in a dtype. */
export function defaultTolerance(kernel: string, dtype: DType): Tolerance {
  if (EXACT_KERNELS.has(kernel)) return EXACT;
  if (dtype === 'f64') return F64_INEXACT;
  if (ARITH_KERNELS.has(kernel)) return F32_ARITH;
  if (TRANSCENDENTAL_KERNELS.has(kernel)) return F32_TRANSCENDENTAL;
  if (kernel === 'random') return F32_RANDOM;
  return F32_FUSED;
}

/**
 * The tolerance used for a kernel: an override keyed `"kernel:dtype"` wins
 * over one keyed `"kernel"`, which wins over the default. Overrides replace
 * the base {atol, rtol}; a case's length scaling of atol still applies.
 */
export function resolveTolerance(
  kernel: string,
  dtype: DType,
  overrides: Record<string, Tolerance> | undefined,
): Tolerance {
  return overrides?.[`${kernel}:${dtype}`] ?? overrides?.[kernel] ?? defaultTolerance(kernel, dtype);
}
