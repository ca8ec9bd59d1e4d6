import { assertFloat, assertSameDType } from '../backend/dispatch.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { fusedAttention, fusedPlan, type AttentionShapes } from './attention-fused.js';
import { causalMask, maskValue } from './attention-mask.js';
import { add, mul } from './binary.js';
import { dropout } from './dropout.js';
import { matmul } from './matmul.js';
import { expand, reshape, transpose, unsqueeze } from './shape.js';
import { softmax } from './softmax.js';
import { where } from './where.js';

export { maskValue } from './attention-mask.js';

/** Options of `scaledDotProductAttention`. */
export interface AttentionOptions {
  /**
   * Either an additive float mask (same dtype as q, broadcastable to
   * [..., Lq, Lk], added to the scaled scores; use `maskValue(dtype)` for
   * blocked positions, not -Infinity) or a u8 keep-mask broadcastable to
   * [..., Lq, Lk] where 1 means "may attend" and 0 means "blocked".
   */
  mask?: Tensor | null;
  /**
   * Causal masking: query i may attend key j only if j ≤ i + (Lk − Lq), i.e.
   * the causal diagonal is aligned to the bottom-right corner. With Lq = Lk
   * that is the usual lower triangle; with extra leading keys (a KV cache or
   * prefix-tuning prefixes) every query also sees all of them. Note: PyTorch's
   * `is_causal` aligns to the top-left instead; the two agree when Lq = Lk.
   * Combined with `mask` by AND.
   */
  causal?: boolean;
  /** Score scale; default 1/√D. */
  scale?: number;
  /** Dropout probability on the attention weights (default 0). */
  dropoutP?: number;
  /** Whether dropout is active (default true; it only matters when dropoutP > 0). */
  training?: boolean;
  /**
   * Which implementation to use (default 'auto'): 'auto' takes the fused
   * kernel where the call qualifies (see `scaledDotProductAttention`), 'fused'
   * insists on it (an Error names the reason when the call does not
   * qualify), 'composed' always composes (for comparisons and benchmarks).
   */
  path?: 'auto' | 'fused' | 'composed';
}

/** How many `scaledDotProductAttention` calls took each path, and why calls were composed. */
export interface AttentionPathStats {
  fused: number;
  composed: number;
  /** Reason → number of composed calls, e.g. "backend 'cpu' has no 'attention' kernel": 12. */
  composedReasons: Record<string, number>;
}

let pathStats: AttentionPathStats = { fused: 0, composed: 0, composedReasons: {} };

/**
 * Counts of the paths `scaledDotProductAttention` took since the process
 * started (or the last `resetAttentionPathStats()`), so the fused/composed
 * choice is observable: a test or a benchmark can assert which path ran.
 */
export function attentionPathStats(): AttentionPathStats {
  return { fused: pathStats.fused, composed: pathStats.composed, composedReasons: { ...pathStats.composedReasons } };
}

/** Zeroes the counters of `attentionPathStats()`. */
export function resetAttentionPathStats(): void {
  pathStats = { fused: 0, composed: 0, composedReasons: {} };
}

/**
 * softmax(q·kᵀ·scale + mask)·v with q [..., Lq, D], k [..., Lk, D] and
 * v [..., Lk, Dv]; leading (batch/head) axes broadcast as in matmul.
 * Gradients flow to q, k, v and a float mask.
 *
 * Blocked positions (u8 mask 0, or causal) get `maskValue(dtype)`; a row with
 * every key blocked therefore attends uniformly (no NaN) and passes no
 * gradient to its scores.
 *
 * Two implementations with the same semantics:
 * - fused: the backend's optional 'attention' kernel (backend/primitives.ts)
 *   writes the output and the probabilities P in one pass; the gradient is
 *   composed here from P (dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dP∘P)),
 *   dQ = scale·dS·K, dK = scale·dSᵀ·Q, dmask = dS summed over its broadcast
 *   axes; the row sum is taken as rowsum(dO∘out), equal since out = P·V and
 *   Lk/Dv times cheaper). Broadcast leading axes (e.g. one shared KV head) are
 *   expanded and made contiguous before the kernel.
 * - composed: matmul, softmax, where and add, each with its own gradient.
 *
 * Rule (path 'auto', the default): fused when the tensors' backend registers
 * 'attention' AND the call qualifies — dtype f32 or f64, dropout inactive
 * (dropoutP = 0 or training = false), no empty axis, and a mask that
 * broadcasts to the scores without enlarging their Lq/Lk axes (u8 keep-masks
 * and additive float masks of any broadcastable shape qualify); composed
 * otherwise. `attentionPathStats()` counts every call's path and the reasons
 * for composing; `opts.path` forces one. Today 'cpu-ref' and 'webgpu'
 * register the kernel; 'cpu' and 'cuda' compose. The two paths agree to
 * rounding (f32: ~1e-6 relative; a test holds them to 1e-5).
 *
 * Why 'cpu-ref' takes the fused path too: it is the oracle the other backends
 * are compared with, so its models should run what theirs run (webgpu's
 * model tests then compare fused with fused, and the HF-fixture parity tests
 * check the fused path and its gradient end to end on both). Its kernel
 * computes in double and rounds once, so it is if anything closer to the
 * exact result than the composed path; every CPU parity test still passes
 * within its stated tolerance. The composed path stays covered by 'cpu' and
 * 'cuda', by `path: 'composed'` cases in the f64 gradient checks and the
 * conformance suite, and by a fused-vs-composed test.
 *
 * Grouped-query / multi-query attention: give k and v the full number of query
 * heads, e.g. `repeatKv(k, nHeads / nKvHeads)`; a single shared KV head
 * ([B, 1, Lk, D]) also works directly through broadcasting.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  assertFloat('scaledDotProductAttention', q);
  assertSameDType('scaledDotProductAttention', q, k, v);
  if (q.rank < 2 || k.rank < 2 || v.rank < 2) {
    throw new ShapeError(`scaledDotProductAttention: q, k, v need rank ≥ 2, got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`);
  }
  const d = q.shape[q.rank - 1]!;
  const lq = q.shape[q.rank - 2]!;
  const lk = k.shape[k.rank - 2]!;
  const dv = v.shape[v.rank - 1]!;
  if (k.shape[k.rank - 1] !== d) {
    throw new ShapeError(`scaledDotProductAttention: q ${formatShape(q.shape)} and k ${formatShape(k.shape)} differ in head size`);
  }
  if (v.shape[v.rank - 2] !== lk) {
    throw new ShapeError(`scaledDotProductAttention: k ${formatShape(k.shape)} and v ${formatShape(v.shape)} differ in the number of keys`);
  }
  const mask = opts.mask ?? null;
  if (mask && mask.dtype !== 'u8' && mask.dtype !== q.dtype) {
    throw new DTypeError(`scaledDotProductAttention: mask must be u8 (keep-mask) or ${q.dtype} (additive), got ${mask.dtype}${formatShape(mask.shape)}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const causal = opts.causal ?? false;
  const sizes: AttentionShapes = { lq, lk, d, dv };

  const path = opts.path ?? 'auto';
  const plan = path === 'composed' ? { reason: "path 'composed' requested" } : fusedPlan(q, k, v, mask, opts, sizes);
  if ('lead' in plan) {
    pathStats.fused++;
    return fusedAttention(q, k, v, mask, plan.lead, sizes, scale, causal);
  }
  if (path === 'fused') throw new Error(`scaledDotProductAttention: path 'fused' requested, but ${plan.reason}`);
  pathStats.composed++;
  pathStats.composedReasons[plan.reason] = (pathStats.composedReasons[plan.reason] ?? 0) + 1;
  return composedAttention(q, k, v, mask, sizes, scale, causal, opts);
}

/** The composed path: matmul, scale, mask (add or where), causal where, softmax, dropout, matmul. */
function composedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, s: AttentionShapes, scale: number, causal: boolean, opts: AttentionOptions): Tensor {
  const { lq, lk } = s;
  const owned: Tensor[] = [];
  const kt = transpose(k);
  const raw = matmul(q, kt);
  let scores = mul(raw, scale);
  owned.push(kt, raw);

  if (mask) {
    owned.push(scores);
    scores = mask.dtype === 'u8' ? where(mask, scores, maskValue(q.dtype)) : add(scores, mask);
  }
  if (causal) {
    const keepCausal = causalMask(lq, lk, q);
    owned.push(scores, keepCausal);
    scores = where(keepCausal, scores, maskValue(q.dtype));
  }
  let probs = softmax(scores, -1);
  owned.push(scores);
  const p = opts.dropoutP ?? 0;
  if (p > 0) {
    const dropped = dropout(probs, p, opts.training ?? true);
    if (dropped !== probs) owned.push(probs);
    probs = dropped;
  }
  const out = matmul(probs, v);
  owned.push(probs);
  for (const t of owned) t.dispose();
  return out;
}

/**
 * Repeats each key/value head `nRep` times along the head axis (-3):
 * [..., H, L, D] → [..., H·nRep, L, D], with head h·nRep + r a copy of head h,
 * as Llama's `repeat_kv`. Used for grouped-query attention. Gradients sum back
 * over the copies.
 */
export function repeatKv(x: Tensor, nRep: number): Tensor {
  if (!Number.isInteger(nRep) || nRep < 1) throw new RangeError(`repeatKv: nRep must be a positive integer, got ${nRep}`);
  if (x.rank < 3) throw new ShapeError(`repeatKv: expected [..., heads, length, dim], got ${formatShape(x.shape)}`);
  if (nRep === 1) return x;
  const lead = x.shape.slice(0, -3);
  const [h, l, d] = x.shape.slice(-3) as [number, number, number];
  const u = unsqueeze(x, -3);
  const e = expand(u, [...lead, h, nRep, l, d]);
  const y = reshape(e, [...lead, h * nRep, l, d]);
  u.dispose();
  if (e !== u) e.dispose();
  return y;
}
