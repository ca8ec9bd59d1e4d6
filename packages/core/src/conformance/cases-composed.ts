import { backward } from '../autograd/backward.js';
import { tidy } from '../backend/scope.js';
import {
  crossEntropy, embedding, gelu, layerNorm, linear, logSoftmax, mul, rmsNorm, scaledDotProductAttention, softmax, sum, add,
} from '../ops/index.js';
import type { DType } from '../tensor/dtype.js';
import { shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { intData, normalData, seedOf, sprinkle } from './data.js';
import type { CaseOutput, HostArray, KernelCase } from './runner.js';

/**
 * Composed ops with gradients: forward through core's ops (which call the
 * backend's kernels), `backward()` through their gradient rules, then the
 * loss and every leaf gradient are compared with the reference. This checks
 * that the kernels compose: views, broadcasting, reductions and the fused
 * backward kernels as core really uses them.
 *
 * Tolerance key: the case's kernel name (e.g. 'linear+gelu'); default
 * {atol 1e-5, rtol 1e-4} (f32), atol scaled by √(terms summed) per output.
 */

interface Leaf {
  name: string;
  shape: number[];
  dtype?: DType;
  values: (seed: number, n: number) => ArrayLike<number>;
  /** Whether a gradient is wanted (and compared); default true for float leaves. */
  grad?: boolean;
  /** atol scale of this leaf's gradient. */
  gradScale?: number;
}

function composedCase(
  kernel: string,
  dtype: DType,
  name: string,
  leaves: Leaf[],
  forward: (xs: Tensor[]) => Tensor,
  lossScale: number,
): KernelCase {
  const id = `${kernel} [${dtype}] ${name}`;
  const seed = seedOf(id);
  const wantsGrad = (l: Leaf): boolean => l.grad ?? (l.dtype === undefined || l.dtype === dtype);
  return {
    id,
    kernel,
    name,
    dtype,
    inputs: (): HostArray[] =>
      leaves.map((l, i) => ({ values: l.values((seed + 0x3c6ef372 * (i + 1)) >>> 0, shapeSize(l.shape)), shape: l.shape, dtype: l.dtype ?? dtype })),
    run: (ctx, xs) => {
      xs.forEach((t, i) => {
        if (wantsGrad(leaves[i]!)) t.requiresGrad = true;
      });
      const loss = tidy(() => {
        const y = forward(xs);
        backward(y);
        return y;
      });
      ctx.track(loss);
      const outs: CaseOutput[] = [{ name: 'loss', tensor: loss, atolScale: lossScale }];
      xs.forEach((t, i) => {
        const l = leaves[i]!;
        if (!wantsGrad(l)) return;
        if (!t.grad) throw new Error(`${id}: no gradient reached '${l.name}'`);
        outs.push({ name: `d${l.name}`, tensor: ctx.track(t.grad), atolScale: l.gradScale ?? 1 });
        t.grad = null;
      });
      return outs;
    },
  };
}

const normal = (std = 1, mean = 0) => (s: number, n: number) => normalData(s, n, mean, std);

export function composedCases(dtype: DType): KernelCase[] {
  return [
    // sum(gelu(x·Wᵀ + b)) with a 3-D x: reshape, transposed matmul operand, bias broadcast, sum backward (expand)
    composedCase('linear+gelu', dtype, 'sum(gelu(linear(x[6,4,24], W[16,24], b[16])))', [
      { name: 'x', shape: [6, 4, 24], values: normal() },
      { name: 'W', shape: [16, 24], values: normal(0.3), gradScale: Math.sqrt(24) },
      { name: 'b', shape: [16], values: normal(0.1), gradScale: Math.sqrt(24) },
    ], ([x, w, b]) => sum(gelu(linear(x!, w!, b!))), Math.sqrt(6 * 4 * 16)),

    // softmax over the last axis and logSoftmax over a middle axis (transposed path), weighted sums
    composedCase('softmax (autograd)', dtype, 'Σ softmax(x, -1)·r1 + Σ logSoftmax(x, 1)·r2, x [5, 3, 40]', [
      { name: 'x', shape: [5, 3, 40], values: normal(2) },
      { name: 'r1', shape: [5, 3, 40], values: normal(), grad: false },
      { name: 'r2', shape: [3, 40], values: normal(), grad: false },
    ], ([x, r1, r2]) => add(sum(mul(softmax(x!, -1), r1!)), sum(mul(logSoftmax(x!, 1), r2!))), Math.sqrt(600)),

    // layerNorm then rmsNorm through ops: the fused backward kernels via the tape
    composedCase('layerNorm (autograd)', dtype, 'Σ rmsNorm(layerNorm(x, γ, β), γ2)·r, x [4, 6, 32]', [
      { name: 'x', shape: [4, 6, 32], values: normal(1.5, 0.5) },
      { name: 'gamma', shape: [32], values: normal(0.2, 1), gradScale: Math.sqrt(24) },
      { name: 'beta', shape: [32], values: normal(0.2), gradScale: Math.sqrt(24) },
      { name: 'gamma2', shape: [32], values: normal(0.2, 1), gradScale: Math.sqrt(24) },
      { name: 'r', shape: [4, 6, 32], values: normal(), grad: false },
    ], ([x, g, b, g2, r]) => sum(mul(rmsNorm(layerNorm(x!, g!, b!, 1e-5), g2!, 1e-6), r!)), Math.sqrt(768)),

    // mean cross-entropy of linear logits with ignored targets
    composedCase('crossEntropy (autograd)', dtype, 'crossEntropy(linear(h[12,20], W[9,20]), targets, ignoreIndex -100)', [
      { name: 'h', shape: [12, 20], values: normal() },
      { name: 'W', shape: [9, 20], values: normal(0.5), gradScale: Math.sqrt(12) },
      { name: 'targets', shape: [12], dtype: 'i32', values: (s, n) => sprinkle(intData(s, n, 0, 9), 5, -100, 2) },
    ], ([h, w, t]) => crossEntropy(linear(h!, w!), t!), 1),

    // embedding lookup (gather) with repeated ids, gradient through scatterAdd
    composedCase('embedding (autograd)', dtype, 'Σ embedding(W[30,8], ids[4,9])·r', [
      { name: 'W', shape: [30, 8], values: normal(), gradScale: 3 },
      { name: 'ids', shape: [4, 9], dtype: 'i32', values: (s, n) => intData(s, n, 0, 12) },
      { name: 'r', shape: [4, 9, 8], values: normal(), grad: false },
    ], ([w, ids, r]) => sum(mul(embedding(w!, ids!), r!)), Math.sqrt(288)),

    // causal attention: batched matmul with transposes, masking (where), softmax and their gradients
    composedCase('attention (autograd)', dtype, 'Σ attention(q, k, v, causal)·r, [2, 3, 7, 8]', [
      { name: 'q', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'k', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'v', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'r', shape: [2, 3, 7, 8], values: normal(), grad: false },
    ], ([q, k, v, r]) => sum(mul(scaledDotProductAttention(q!, k!, v!, { causal: true }), r!)), Math.sqrt(336)),

    // The same through the composed ops on both backends, whatever kernels they register
    composedCase('attention (autograd)', dtype, "Σ attention(q, k, v, causal, path 'composed')·r, [2, 3, 7, 8]", [
      { name: 'q', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'k', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'v', shape: [2, 3, 7, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'r', shape: [2, 3, 7, 8], values: normal(), grad: false },
    ], ([q, k, v, r]) => sum(mul(scaledDotProductAttention(q!, k!, v!, { causal: true, path: 'composed' }), r!)), Math.sqrt(336)),

    // additive mask [B, 1, 1, Lk] with a gradient, one KV head broadcast over 4 query heads, Lq ≠ Lk, causal
    composedCase('attention (autograd)', dtype, 'Σ attention(q [2,4,5,8], k/v [2,1,9,8], mask [2,1,1,9], causal)·r', [
      { name: 'q', shape: [2, 4, 5, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'k', shape: [2, 1, 9, 8], values: normal(), gradScale: Math.sqrt(8 * 4) },
      { name: 'v', shape: [2, 1, 9, 6], values: normal(), gradScale: Math.sqrt(8 * 4) },
      { name: 'mask', shape: [2, 1, 1, 9], values: normal(0.5, -0.5), gradScale: Math.sqrt(4 * 5) },
      { name: 'r', shape: [2, 4, 5, 6], values: normal(), grad: false },
    ], ([q, k, v, m, r]) => sum(mul(scaledDotProductAttention(q!, k!, v!, { mask: m!, causal: true }), r!)), Math.sqrt(240)),

    // u8 keep-mask [B, 1, Lq, Lk] (Llama: causal and padding in one mask), with rows that see no key
    composedCase('attention (autograd)', dtype, 'Σ attention(q, k, v [2,2,6,8], u8 mask [2,1,6,6], some rows fully masked)·r', [
      { name: 'q', shape: [2, 2, 6, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'k', shape: [2, 2, 6, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'v', shape: [2, 2, 6, 8], values: normal(), gradScale: Math.sqrt(8) },
      { name: 'keep', shape: [2, 1, 6, 6], dtype: 'u8', values: (s, n) => sprinkle(Float64Array.from(intData(s, n, 0, 4), (x) => (x ? 1 : 0)), 6, 0, 0).map((x, i) => (i < 6 ? 0 : x)) },
      { name: 'r', shape: [2, 2, 6, 8], values: normal(), grad: false },
    ], ([q, k, v, keepMask, r]) => sum(mul(scaledDotProductAttention(q!, k!, v!, { mask: keepMask! }), r!)), Math.sqrt(192)),
  ];
}
