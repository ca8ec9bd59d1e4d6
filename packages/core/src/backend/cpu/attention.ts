import type { KernelArgs, View } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, checkDType, checkSameDType, floatArrayOf } from './common.js';
import { gemm } from './matmul.js';
import { rowMax } from './softmax.js';

type AttentionAttrs = PrimitiveAttrs['attention'];

/** Most negative finite value of the dtype: what a causally blocked score becomes (as maskValue in ops/attention.ts). */
function lowest(dtype: View['dtype']): number {
  return dtype === 'f64' ? -Number.MAX_VALUE : -3.4028234663852886e38;
}

/** Double-precision scratch of one problem: scores / probabilities [lq, lk] and the output [lq, dv]. */
let scoreScratch = new Float64Array(1024);
let outScratch = new Float64Array(256);

/**
 * The optional fused 'attention' kernel (contract in primitives.ts). Per
 * problem bh, in double precision throughout: S = q·kᵀ with the reference
 * GEMM (matmul.ts) into a scratch, then per row S·scale + mask (causally
 * blocked entries set to `lowest`) and the softmax as the `softmax` kernel
 * does it (row max, shifted exponentials, one division), then out = P·v with
 * the same GEMM; the f32 outputs are rounded once, when stored. P is written
 * only when the caller asked for it (a second output).
 */
export function attentionKernel(args: KernelArgs<AttentionAttrs>): void {
  const [qv, kv, vv, mv] = args.inputs as [View, View, View, View | undefined];
  const [ov, pv] = args.outputs as [View, View | undefined];
  const { batch, heads, lq, lk, d, dv, scale, causal } = args.attrs;
  checkSameDType('attention', [qv, kv, vv, ov, ...(pv ? [pv] : []), ...(mv ? [mv] : [])]);
  checkDType('attention', qv.dtype, FLOAT_DTYPES);
  const q = floatArrayOf(qv), k = floatArrayOf(kv), v = floatArrayOf(vv), o = floatArrayOf(ov);
  const p = pv ? floatArrayOf(pv) : null;
  const m = mv ? floatArrayOf(mv) : null;
  const [ms0, ms1, ms2, ms3] = mv ? (mv.strides as [number, number, number, number]) : [0, 0, 0, 0];
  const blocked = lowest(qv.dtype);
  const shift = lk - lq;
  if (scoreScratch.length < lq * lk) scoreScratch = new Float64Array(Math.max(lq * lk, scoreScratch.length * 2));
  if (outScratch.length < lq * dv) outScratch = new Float64Array(Math.max(lq * dv, outScratch.length * 2));
  const s = scoreScratch, acc = outScratch;

  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const bh = b * heads + h;
      // S = Q·Kᵀ: A = q [lq, d] row-major, B(c, j) = k[j, c].
      gemm(lq, lk, d, q, qv.offset + bh * lq * d, d, 1, k, kv.offset + bh * lk * d, 1, d, s, 0);
      for (let i = 0; i < lq; i++) {
        const row = i * lk;
        const mRow = mv ? mv.offset + b * ms0 + h * ms1 + i * ms2 : 0;
        for (let j = 0; j < lk; j++) {
          if (causal && j > i + shift) s[row + j] = blocked;
          else s[row + j] = m ? s[row + j]! * scale + m[mRow + j * ms3]! : s[row + j]! * scale;
        }
        const max = rowMax(s, row, lk);
        let sum = 0;
        for (let j = 0; j < lk; j++) {
          const e = Math.exp(s[row + j]! - max);
          s[row + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < lk; j++) s[row + j]! *= inv;
        if (p) {
          const pRow = pv!.offset + (bh * lq + i) * lk;
          for (let j = 0; j < lk; j++) p[pRow + j] = s[row + j]!;
        }
      }
      // out = P·V, accumulated in double, rounded once into the output.
      gemm(lq, dv, lk, s, 0, lk, 1, v, vv.offset + bh * lk * dv, dv, 1, acc, 0);
      const oBase = ov.offset + bh * lq * dv;
      for (let e = 0; e < lq * dv; e++) o[oBase + e] = acc[e]!;
    }
  }
}
