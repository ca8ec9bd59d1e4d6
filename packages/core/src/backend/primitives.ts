/**
 * The primitive kernel set: everything a backend must implement. Every other
 * op (and every gradient) is composed in core from these.
 *
 * Layout rules (for all kernels):
 * - Outputs are allocated by core and are contiguous, except the `copy`
 *   kernel, whose output view may be strided (it writes into slices).
 * - Inputs of ELEMENTWISE kernels (unary, binary, compare, where, copy, cast)
 *   may have any strides and offset; stride 0 expresses broadcasting, so the
 *   input views always have the output's shape.
 * - Inputs of all OTHER kernels are contiguous with offset possibly non-zero.
 *
 * Dtypes: float kernels must support f32 (the reference backend also f64);
 * index inputs are i32; comparisons output u8 (0/1).
 *
 * Optional fused kernels (OPTIONAL_KERNELS, at the end of this file) follow
 * the same rules unless their entry says otherwise.
 */

/** Unary elementwise ops: `y = f(x)`, same dtype. */
export const UNARY_OPS = [
  'neg', 'abs', 'sign', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'square',
  'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'erf', 'gelu', 'geluTanh', 'silu',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Binary elementwise ops: `z = f(a, b)`, same dtype in and out. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Comparisons: `z = a ? b` as u8 0/1. */
export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

/** Reductions over the middle axis of a contiguous [outer, reduce, inner] input; output [outer, inner]. */
export const REDUCE_OPS = ['sum', 'max', 'min', 'argmax'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Attributes of each non-elementwise primitive (elementwise ones take none). */
export interface PrimitiveAttrs {
  /** inputs: [] ; outputs: [y]. Sets every element to `value`. */
  fill: { value: number };
  /**
   * inputs: [] ; outputs: [y]. Counter-based random numbers, identical on every
   * backend: element i uses `uniformAt(seed, counter + i)` / `normalAt(seed, counter + i)` from random/hash.ts.
   * Indices are taken mod 2^32. 'normal' is Box–Muller on a separate stream (see normalAt).
   * 'bernoulli' gives 1 where uniform < p (default 0.5), else 0.
   */
  random: { distribution: 'uniform' | 'normal' | 'bernoulli'; seed: number; counter: number; low?: number; high?: number; mean?: number; std?: number; p?: number };
  /** inputs: [x (strided)] ; outputs: [y (strided)]. Elementwise copy between views of equal shape and dtype. */
  copy: Record<string, never>;
  /** inputs: [x (strided)] ; outputs: [y]. Converts dtype; float→int truncates toward zero. */
  cast: Record<string, never>;
  /** inputs: [cond u8, a, b] (strided) ; outputs: [y]. */
  where: Record<string, never>;
  /** inputs: [x] ; outputs: [y]. See REDUCE_OPS. */
  reduce: { outer: number; reduce: number; inner: number };
  /**
   * inputs: [a, b] ; outputs: [c (batch, m, n)].
   * a is (batch, m, k) or, with transA, (batch, k, m); b is (batch, k, n) or, with transB, (batch, n, k).
   * aBatchStride / bBatchStride are element strides between batch items (0 broadcasts one matrix).
   * Kernels use only each view's offset plus these attributes; the views' own
   * strides (e.g. of a transposed view) are not meaningful here.
   */
  matmul: { batch: number; m: number; n: number; k: number; transA: boolean; transB: boolean; aBatchStride: number; bBatchStride: number };
  /** inputs: [table (v, d), indices i32 (n)] ; outputs: [y (n, d)]. Out-of-range indices are an error. */
  gather: { v: number; d: number; n: number };
  /** inputs: [src (n, d), indices i32 (n)] ; outputs: [y (v, d)] = zeros then y[idx[i]] += src[i]. */
  scatterAdd: { v: number; d: number; n: number };
  /** inputs: [x (rows, cols)] ; outputs: [y]. Softmax / log-softmax along the last axis. */
  softmax: { rows: number; cols: number };
  logSoftmax: { rows: number; cols: number };
  /** inputs: [x (rows, d), gamma (d), beta (d)] ; outputs: [y, mean (rows), rstd (rows)], all in x's dtype. */
  layerNorm: { rows: number; d: number; eps: number };
  /** inputs: [dy, x, mean, rstd, gamma] ; outputs: [dx, dgamma, dbeta]. */
  layerNormBackward: { rows: number; d: number };
  /** inputs: [x (rows, d), gamma (d)] ; outputs: [y, rstd (rows)]. y = x * rstd * gamma, rstd = 1/sqrt(mean(x²)+eps). */
  rmsNorm: { rows: number; d: number; eps: number };
  /** inputs: [dy, x, rstd, gamma] ; outputs: [dx, dgamma]. */
  rmsNormBackward: { rows: number; d: number };
  /** inputs: [logits (n, c), targets i32 (n)] ; outputs: [loss (n)], 0 where target == ignoreIndex. */
  crossEntropy: { n: number; c: number; ignoreIndex: number };
  /** inputs: [logits, targets, dloss (n)] ; outputs: [dlogits (n, c)] = (softmax - onehot) * dloss, 0 rows where ignored. */
  crossEntropyBackward: { n: number; c: number; ignoreIndex: number };
  /**
   * OPTIONAL (see OPTIONAL_KERNELS). Fused scaled dot-product attention over
   * BH = batch·heads independent problems:
   *
   *   S = q·kᵀ·scale (+ mask) ; S[i, j] = lowest where causal blocks (i, j) ;
   *   P = softmax(S) along j ; out = P·v
   *
   * inputs: [q (BH, lq, d), k (BH, lk, d), v (BH, lk, dv), mask?]: q, k, v
   * contiguous (offset possibly non-zero). The optional mask is ADDITIVE, in
   * q's dtype, and — unlike other non-elementwise inputs — a STRIDED view of
   * shape [batch, heads, lq, lk] (stride 0 broadcasts, as for elementwise
   * inputs): element (b, h, i, j) is at offset + b·s0 + h·s1 + i·s2 + j·s3,
   * and problem bh = b·heads + h. Core turns a u8 keep-mask into an additive
   * one (0 / lowest) before calling.
   *
   * outputs: [out (BH, lq, dv), P (BH, lq, lk)]; P (the probabilities, which
   * the gradient needs) is optional: core passes only [out] when no gradient
   * is recorded, and the kernel then must not write it.
   *
   * Semantics, exactly those of the composed op (ops/attention.ts):
   * - causal: query i may attend key j only if j ≤ i + (lk − lq) (diagonal
   *   aligned bottom-right). A blocked score is REPLACED (after the mask is
   *   added) by `lowest`, the most negative finite value of the dtype
   *   (f32: −3.4028234663852886e38, f64: −Number.MAX_VALUE), never −∞.
   * - softmax as the `softmax` kernel: exp(S − rowmax) / Σ; a row whose
   *   scores are all `lowest` therefore gets uniform weights, not NaN.
   * - lq, lk, d, dv ≥ 1 (core takes the composed path for empty axes).
   * Dtypes: f32 (the reference backend also f64), all inputs and outputs alike.
   */
  attention: { batch: number; heads: number; lq: number; lk: number; d: number; dv: number; scale: number; causal: boolean };
}

/** Names of the non-elementwise primitives. Reductions register as 'sum', 'max', 'min', 'argmax'. */
export const STRUCTURAL_KERNELS = [
  'fill', 'random', 'copy', 'cast', 'where', 'matmul', 'gather', 'scatterAdd', 'softmax', 'logSoftmax',
  'layerNorm', 'layerNormBackward', 'rmsNorm', 'rmsNormBackward', 'crossEntropy', 'crossEntropyBackward',
] as const;

/** Every kernel name a complete backend registers. */
export const PRIMITIVE_KERNELS: readonly string[] = [
  ...UNARY_OPS, ...BINARY_OPS, ...COMPARE_OPS, ...REDUCE_OPS, ...STRUCTURAL_KERNELS,
];

/**
 * Fused kernels a backend MAY register where they pay off. Core checks
 * `hasKernel(name, backend)` and otherwise composes the same result from the
 * primitives above, so a backend without them is still complete.
 *
 * - 'attention' (attrs above): used by `scaledDotProductAttention` when the
 *   backend registers it AND the call qualifies: float dtype f32 or f64, dropout
 *   inactive (dropoutP = 0 or training = false), no empty axis, and a mask
 *   (u8 keep-mask or additive float) that broadcasts to the scores without
 *   enlarging their query/key axes. Any other call takes the composed path
 *   (matmul, softmax, where, add). The choice is counted per call:
 *   `attentionPathStats()` (ops/attention.ts) says how many calls went each
 *   way and why calls were composed. The gradient is core's (composed from
 *   the saved P), so the kernel has no backward. Registered by 'cpu-ref' (the
 *   reference, so it takes the fused path too; see ops/attention.ts for why)
 *   and 'webgpu'; 'cpu' and 'cuda' compose.
 */
export const OPTIONAL_KERNELS = ['attention'] as const;
export type OptionalKernel = (typeof OPTIONAL_KERNELS)[number];
