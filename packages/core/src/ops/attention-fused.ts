import { broadcastView, runKernel } from '../backend/dispatch.js';
import type { View } from '../backend/backend.js';
import { hasKernel } from '../backend/registry.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { broadcastShapes, shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionOptions } from './attention.js';
import { causalMask, maskValue } from './attention-mask.js';
import { mul, sub } from './binary.js';
import { scalarLike } from './creation.js';
import { matmul } from './matmul.js';
import { sum, sumToShape } from './reduce.js';
import { contiguous, expand, reshape, transpose } from './shape.js';
import { where } from './where.js';

/**
 * The fused path of `scaledDotProductAttention` (see its TSDoc for the rule
 * that picks it): the backend's optional 'attention' kernel computes the
 * output and P in one pass, and the gradient is composed here from P.
 */

/** Sizes shared by both paths. */
export interface AttentionShapes {
  lq: number;
  lk: number;
  d: number;
  dv: number;
}

/** The broadcast leading shape when the fused kernel can take the call, else why not. */
export function fusedPlan(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, opts: AttentionOptions, s: AttentionShapes): { lead: number[] } | { reason: string } {
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

export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, lead: number[], s: AttentionShapes, scale: number, causal: boolean): Tensor {
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
