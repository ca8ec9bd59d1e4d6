import type { BinaryOp, CompareOp, ReduceOp, UnaryOp } from '@adapterkit/core';

/** Op codes of the addon; the order mirrors the enums in native/common.h. */
export const UNARY_CODE: Record<UnaryOp, number> = {
  neg: 0, abs: 1, sign: 2, exp: 3, log: 4, sqrt: 5, rsqrt: 6, recip: 7, square: 8,
  sin: 9, cos: 10, tanh: 11, sigmoid: 12, relu: 13, erf: 14, gelu: 15, geluTanh: 16, silu: 17,
};
export const BINARY_CODE: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6 };
export const COMPARE_CODE: Record<CompareOp, number> = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 };
export const REDUCE_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, argmax: 3 };
export const RANDOM_CODE = { uniform: 0, normal: 1, bernoulli: 2 } as const;
