import { assertFloat, assertSameDType } from '../backend/dispatch.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul } from './binary.js';
import { tensor } from './creation.js';
import { dropout } from './dropout.js';
import { matmul } from './matmul.js';
import { expand, reshape, transpose, unsqueeze } from './shape.js';
import { softmax } from './softmax.js';
import { where } from './where.js';

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
}

/**
 * The most negative finite value of a float dtype. Blocked attention scores are
 * set to it instead of −∞, so fully masked rows give uniform weights rather
 * than NaN.
 */
export function maskValue(dtype: DType): number {
  switch (dtype) {
    case 'f64': return -Number.MAX_VALUE;
    case 'f16': return -65504;
    case 'bf16': return -3.3895313892515355e38;
    default: return -3.4028234663852886e38;
  }
}

/**
 * softmax(q·kᵀ·scale + mask)·v with q [..., Lq, D], k [..., Lk, D] and
 * v [..., Lk, Dv]; leading (batch/head) axes broadcast as in matmul. Composed
 * from matmul, softmax, where and add, so gradients flow to q, k, v and a
 * float mask without a dedicated rule.
 *
 * Blocked positions (u8 mask 0, or causal) get `maskValue(dtype)`; a row with
 * every key blocked therefore attends uniformly (no NaN) and passes no
 * gradient to its scores.
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
  if (k.shape[k.rank - 1] !== d) {
    throw new ShapeError(`scaledDotProductAttention: q ${formatShape(q.shape)} and k ${formatShape(k.shape)} differ in head size`);
  }
  if (v.shape[v.rank - 2] !== lk) {
    throw new ShapeError(`scaledDotProductAttention: k ${formatShape(k.shape)} and v ${formatShape(v.shape)} differ in the number of keys`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const owned: Tensor[] = [];
  const kt = transpose(k);
  const raw = matmul(q, kt);
  let scores = mul(raw, scale);
  owned.push(kt, raw);

  const mask = opts.mask ?? null;
  if (mask) {
    owned.push(scores);
    if (mask.dtype === 'u8') scores = where(mask, scores, maskValue(q.dtype));
    else if (mask.dtype === q.dtype) scores = add(scores, mask);
    else throw new DTypeError(`scaledDotProductAttention: mask must be u8 (keep-mask) or ${q.dtype} (additive), got ${mask.dtype}${formatShape(mask.shape)}`);
  }
  if (opts.causal) {
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

/** u8 [lq, lk] with 1 where key j ≤ i + (lk − lq). */
function causalMask(lq: number, lk: number, like: Tensor): Tensor {
  const data = new Uint8Array(lq * lk);
  const shift = lk - lq;
  for (let i = 0; i < lq; i++) for (let j = 0; j < lk && j <= i + shift; j++) data[i * lk + j] = 1;
  return tensor(data, [lq, lk], { dtype: 'u8', backend: like.backend });
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
