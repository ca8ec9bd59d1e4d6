import { assertFloat, assertSameDType, broadcastView, runKernel } from '../backend/dispatch.js';
import type { View } from '../backend/backend.js';
import { hasKernel } from '../backend/registry.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { broadcastShapes, shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, sub } from './binary.js';
import { scalarLike, tensor } from './creation.js';
import { dropout } from './dropout.js';
import { matmul } from './matmul.js';
import { sum, sumToShape } from './reduce.js';
import { contiguous, expand, reshape, transpose, unsqueeze } from './shape.js';
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
  /**
   * Which implementation to use (default 'auto'): 'auto' takes the fused
   * kernel where the call qualifies (see `scaledDotProductAttention`), 'fused'
   * insists on it (an Error names the reason when the call does not
   * qualify), 'composed' always composes (for comparisons and benchmarks).
   */
  path?: 'auto' | 'fused' | 'composed';
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

/** Sizes shared by both paths. */
interface AttentionShapes {
  lq: number;
  lk: number;
  d: number;
  dv: number;
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

/** The broadcast leading shape when the fused kernel can take the call, else why not. */
function fusedPlan(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, opts: AttentionOptions, s: AttentionShapes): { lead: number[] } | { reason: string } {
  const backend = q.backend;
  if (!hasKernel('attention', backend.name)) return { reason: `backend '${backend.name}' has no 'attention' kernel` };
  if (q.dtype !== 'f32' && q.dtype !== 'f64') return { reason: `dtype ${q.dtype} (the fused kernel takes f32 or f64)` };
  if ((opts.dropoutP ?? 0) > 0 && (opts.training ?? true)) return { reason: 'attention dropout is active' };
  if (s.lq === 0 || s.lk === 0 || s.d === 0 || s.dv === 0) return { reason: 'an axis is empty' };
  let lead: number[];
  try {
    lead = broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
    if (mask) {
      const full = broadcastShapes([...lead, s.lq, s.lk], mask.shape);
      if (full[full.length - 2] !== s.lq || full[full.length - 1] !== s.lk) return { reason: 'the mask enlarges the query/key axes' };
      lead = full.slice(0, -2);
    }
  } catch {
    return { reason: 'the shapes do not broadcast' }; // the composed path reports it
  }
  return { lead };
}

/** Expands x to [...lead, rows, cols] and returns it contiguous as [BH, rows, cols]; intermediates go to `owned`. */
function flatHeads(x: Tensor, lead: number[], rows: number, cols: number, owned: Tensor[]): Tensor {
  const e = expand(x, [...lead, rows, cols]);
  const c = contiguous(e);
  const r = reshape(c, [shapeSize(lead), rows, cols]);
  for (const t of [e, c, r]) if (t !== x && !owned.includes(t)) owned.push(t);
  return r;
}

/**
 * Leading axes of a broadcast view merged into (batch, heads) with their
 * strides — adjacent axes merge when the outer stride is the inner one times
 * its size (so broadcast runs merge too) — or null if three remain.
 */
function batchHeads(lead: readonly number[], strides: readonly number[]): [number, number, number, number] | null {
  const dims: [number, number][] = [];
  lead.forEach((n, i) => {
    if (n === 1) return;
    const last = dims[dims.length - 1];
    if (last && last[1] === strides[i]! * n) {
      last[0] *= n;
      last[1] = strides[i]!;
    } else {
      dims.push([n, strides[i]!]);
    }
  });
  if (dims.length > 2) return null;
  while (dims.length < 2) dims.unshift([1, 0]);
  return [dims[0]![0], dims[0]![1], dims[1]![0], dims[1]![1]];
}

/**
 * The kernel's mask input: the additive mask (a u8 keep-mask becomes 0 /
 * maskValue) as a strided [batch, heads, lq, lk] view over `lead`, plus
 * batch and heads. Made under noGrad; its gradient is the fused node's.
 */
function maskInput(mask: Tensor, like: Tensor, lead: number[], lq: number, lk: number, owned: Tensor[]): { view: View; batch: number; heads: number } {
  return noGrad(() => {
    let additive = mask;
    if (mask.dtype === 'u8') {
      const zero = scalarLike(like, 0);
      additive = where(mask, zero, maskValue(like.dtype));
      zero.dispose();
      owned.push(additive);
    }
    const full = [...lead, lq, lk];
    let bv = broadcastView(additive, full);
    let bh = batchHeads(lead, bv.strides.slice(0, lead.length));
    if (!bh) {
      // Three or more leading axes that do not merge: materialise the broadcast mask once.
      const e = expand(additive, full);
      const c = contiguous(e);
      for (const t of [e, c]) if (t !== additive && !owned.includes(t)) owned.push(t);
      bv = broadcastView(c, full);
      bh = batchHeads(lead, bv.strides.slice(0, lead.length))!;
    }
    const [batch, sb, heads, sh] = bh;
    const n = full.length;
    const view: View = { storage: bv.storage, dtype: bv.dtype, shape: [batch, heads, lq, lk], strides: [sb, sh, bv.strides[n - 2]!, bv.strides[n - 1]!], offset: bv.offset };
    return { view, batch, heads };
  });
}

function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, lead: number[], s: AttentionShapes, scale: number, causal: boolean): Tensor {
  const { lq, lk, d, dv } = s;
  const bh = shapeSize(lead);
  const dtype = q.dtype;
  const owned: Tensor[] = [];
  const q3 = flatHeads(q, lead, lq, d, owned);
  const k3 = flatHeads(k, lead, lk, d, owned);
  const v3 = flatHeads(v, lead, lk, dv, owned);
  const m = mask ? maskInput(mask, q, lead, lq, lk, owned) : null;
  const floatMask = mask && mask.dtype !== 'u8' ? mask : null;
  const gradInputs = [q3, k3, v3, ...(floatMask ? [floatMask] : [])];
  const needP = isGradEnabled() && gradInputs.some((t) => t.requiresGrad);

  const attrs = { batch: m ? m.batch : bh, heads: m ? m.heads : 1, lq, lk, d, dv, scale, causal };
  const [out3, probs] = runKernel(
    'attention',
    [q3, k3, v3, ...(m ? [m.view] : [])],
    [{ shape: [bh, lq, dv], dtype }, ...(needP ? [{ shape: [bh, lq, lk], dtype }] : [])],
    attrs,
  );
  if (probs) {
    // A row whose keys are all blocked has uniform P, but the composed path's `where` passes
    // u8-masked and causally blocked scores no gradient: zero dS there too. (In any other row
    // P is exactly 0 at blocked keys.) Causal alone blocks whole rows only when Lq > Lk; with
    // a mask, a row may be blocked partly by it and partly causally.
    const keepU8 = mask && mask.dtype === 'u8' ? mask : null;
    const causalRows = causal && (lq > lk || mask !== null);
    const full = [...lead, lq, lk];
    const maskShape = floatMask?.shape;
    record('attention', gradInputs, [out3!], [q3, k3, v3, probs, out3!, ...(keepU8 ? [keepU8] : [])], ([dOut], saved, needs) => {
      const [sq, sk, sv, sp, so, sKeep] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor | undefined];
      const dO = dOut!;
      const dV = needs[2] ? matmul(transpose(sp), dO) : null;
      if (!needs[0] && !needs[1] && !needs[3]) return [null, null, dV];
      const dP = matmul(dO, transpose(sv));
      // rowsum(dP∘P) computed as rowsum(dO∘out), equal since out = P·V, and Lk/Dv times cheaper.
      let dS = mul(sp, sub(dP, sum(mul(dO, so), -1, true)));
      if (sKeep || causalRows) {
        let dSFull = reshape(dS, full);
        if (sKeep) dSFull = where(sKeep, dSFull, 0);
        if (causalRows) dSFull = where(causalMask(lq, lk, sq), dSFull, 0);
        dS = reshape(dSFull, [bh, lq, lk]);
      }
      return [
        needs[0] ? mul(matmul(dS, sk), scale) : null,
        needs[1] ? mul(matmul(transpose(dS), sq), scale) : null,
        dV,
        needs[3] ? sumToShape(reshape(dS, full), maskShape!) : null,
      ];
    });
    probs.dispose();
  }
  const out = reshape(out3!, [...lead, lq, dv]);
  out3!.dispose();
  for (const t of owned) t.dispose();
  return out;
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
