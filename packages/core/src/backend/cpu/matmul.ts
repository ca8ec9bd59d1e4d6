import type { KernelArgs } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, checkDType, checkSameDType, floatArrayOf } from './common.js';

type MatmulAttrs = PrimitiveAttrs['matmul'];
type FloatArray = Float32Array | Float64Array;

/**
 * Batched C = op(A)·op(B), cache- and register-blocked (GotoBLAS layout):
 *
 *   for each NC-column block of B, KC-deep slice of k:
 *     pack B[kc × nc] into NR-wide panels (row p of a panel = NR contiguous values)
 *     for each MC-row block of A:
 *       pack A[mc × kc] into MR-tall panels
 *       for each NR panel of B, each MR panel of A: MR×NR micro-kernel over kc
 *
 * Packing converts to Float64Array once (so f32 inputs are widened once, not
 * per multiply-add), absorbs transA/transB and offsets/strides, and zero-pads
 * ragged edges so the micro-kernel always runs a full tile. The micro-kernel
 * keeps its MR×NR accumulators in local variables (registers) and streams the
 * two packed panels sequentially. Scratch buffers are module-level and reused.
 */
const MR = 4;
const NR = 8;
const KC = 256;
const MC = 96;
const NC = 2048;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * 256);
const edgeTile = new Float64Array(MR * NR);

export function matmulKernel(args: KernelArgs<MatmulAttrs>): void {
  const av = args.inputs[0]!, bv = args.inputs[1]!, cv = args.outputs[0]!;
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = args.attrs;
  checkSameDType('matmul', [cv, av, bv]);
  checkDType('matmul', av.dtype, FLOAT_DTYPES);
  const a = floatArrayOf(av), b = floatArrayOf(bv), c = floatArrayOf(cv);
  // Element (i, p) of A is a[base + i*ars + p*acs]; (p, j) of B is b[base + p*brs + j*bcs].
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;

  if (k === 0) {
    c.fill(0, cv.offset, cv.offset + batch * m * n);
    return;
  }
  // A shared B with a stack of row-major A's is one tall matmul: pack B once.
  if (batch > 1 && bBatchStride === 0 && !transA && aBatchStride === m * k) {
    gemm(batch * m, n, k, a, av.offset, ars, acs, b, bv.offset, brs, bcs, c, cv.offset);
    return;
  }
  for (let q = 0; q < batch; q++) {
    gemm(m, n, k, a, av.offset + q * aBatchStride, ars, acs, b, bv.offset + q * bBatchStride, brs, bcs, c, cv.offset + q * m * n);
  }
}

/**
 * C[m×n] (row-major at cBase) = A·B for one matrix pair; A(i, p) is
 * a[aBase + i·ars + p·acs], B(p, j) is b[bBase + p·brs + j·bcs]. Also used by
 * the fused attention kernel (attention.ts), with double-precision C.
 */
export function gemm(
  m: number, n: number, k: number,
  a: FloatArray, aBase: number, ars: number, acs: number,
  b: FloatArray, bBase: number, brs: number, bcs: number,
  c: FloatArray, cBase: number,
): void {
  if (m * n === 0) return;
  // Tiny or vector-shaped products: packing would cost as much as the math.
  if (m < MR || n < NR || m * n * k < 4096) {
    gemmDirect(m, n, k, a, aBase, ars, acs, b, bBase, brs, bcs, c, cBase);
    return;
  }
  const nb = Math.min(NC, n);
  const needB = KC * roundUp(nb, NR);
  if (packB.length < needB) packB = new Float64Array(needB);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const first = pc === 0;
      packBBlock(b, bBase + pc * brs + jc * bcs, brs, bcs, kc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packABlock(a, aBase + ic * ars + pc * acs, ars, acs, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bPanel = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            micro(packA, (ir / MR) * kc * MR, packB, bPanel, kc, c, cBase + (ic + ir) * n + jc + jr, n, mr, nr, first);
          }
        }
      }
    }
  }
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/** packB[(panel*kc + p)*NR + jj] = B(p, panel*NR + jj), zero past column nc. */
function packBBlock(b: FloatArray, base: number, brs: number, bcs: number, kc: number, nc: number): void {
  const pb = packB;
  let dst = 0;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const w = Math.min(NR, nc - j0);
    const colBase = base + j0 * bcs;
    if (w === NR && bcs === 1) {
      // Row-major B: each panel row is NR contiguous elements.
      for (let p = 0, src = colBase; p < kc; p++, src += brs, dst += NR) {
        for (let jj = 0; jj < NR; jj++) pb[dst + jj] = b[src + jj]!;
      }
    } else {
      for (let jj = 0; jj < NR; jj++) {
        if (jj < w) for (let p = 0, src = colBase + jj * bcs; p < kc; p++, src += brs) pb[dst + p * NR + jj] = b[src]!;
        else for (let p = 0; p < kc; p++) pb[dst + p * NR + jj] = 0;
      }
      dst += kc * NR;
    }
  }
}

/** packA[(panel*kc + p)*MR + ii] = A(panel*MR + ii, p), zero past row mc. */
function packABlock(a: FloatArray, base: number, ars: number, acs: number, mc: number, kc: number): void {
  const pa = packA;
  let dst = 0;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const h = Math.min(MR, mc - i0);
    const rowBase = base + i0 * ars;
    if (h === MR && ars === 1) {
      // Transposed A: the MR rows of one column p are contiguous.
      for (let p = 0, src = rowBase; p < kc; p++, src += acs, dst += MR) {
        for (let ii = 0; ii < MR; ii++) pa[dst + ii] = a[src + ii]!;
      }
    } else {
      for (let ii = 0; ii < MR; ii++) {
        if (ii < h) for (let p = 0, src = rowBase + ii * ars; p < kc; p++, src += acs) pa[dst + p * MR + ii] = a[src]!;
        else for (let p = 0; p < kc; p++) pa[dst + p * MR + ii] = 0;
      }
      dst += kc * MR;
    }
  }
}

/**
 * 4×8 register tile: 32 accumulators in locals, 4+8 loads per 32 multiply-adds.
 * `first` stores (C = tile) on the first k-slice and accumulates after it.
 */
function micro(
  pa: Float64Array, ai: number, pb: Float64Array, bi: number, kc: number,
  c: FloatArray, ci: number, ldc: number, mr: number, nr: number, first: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let p = 0; p < kc; p++, ai += 4, bi += 8) {
    const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!;
    const b4 = pb[bi + 4]!, b5 = pb[bi + 5]!, b6 = pb[bi + 6]!, b7 = pb[bi + 7]!;
    let x = pa[ai]!;
    c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3; c04 += x * b4; c05 += x * b5; c06 += x * b6; c07 += x * b7;
    x = pa[ai + 1]!;
    c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3; c14 += x * b4; c15 += x * b5; c16 += x * b6; c17 += x * b7;
    x = pa[ai + 2]!;
    c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3; c24 += x * b4; c25 += x * b5; c26 += x * b6; c27 += x * b7;
    x = pa[ai + 3]!;
    c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3; c34 += x * b4; c35 += x * b5; c36 += x * b6; c37 += x * b7;
  }
  if (mr === MR && nr === NR) {
    let r = ci;
    if (first) {
      c[r] = c00; c[r + 1] = c01; c[r + 2] = c02; c[r + 3] = c03; c[r + 4] = c04; c[r + 5] = c05; c[r + 6] = c06; c[r + 7] = c07; r += ldc;
      c[r] = c10; c[r + 1] = c11; c[r + 2] = c12; c[r + 3] = c13; c[r + 4] = c14; c[r + 5] = c15; c[r + 6] = c16; c[r + 7] = c17; r += ldc;
      c[r] = c20; c[r + 1] = c21; c[r + 2] = c22; c[r + 3] = c23; c[r + 4] = c24; c[r + 5] = c25; c[r + 6] = c26; c[r + 7] = c27; r += ldc;
      c[r] = c30; c[r + 1] = c31; c[r + 2] = c32; c[r + 3] = c33; c[r + 4] = c34; c[r + 5] = c35; c[r + 6] = c36; c[r + 7] = c37;
    } else {
      c[r]! += c00; c[r + 1]! += c01; c[r + 2]! += c02; c[r + 3]! += c03; c[r + 4]! += c04; c[r + 5]! += c05; c[r + 6]! += c06; c[r + 7]! += c07; r += ldc;
      c[r]! += c10; c[r + 1]! += c11; c[r + 2]! += c12; c[r + 3]! += c13; c[r + 4]! += c14; c[r + 5]! += c15; c[r + 6]! += c16; c[r + 7]! += c17; r += ldc;
      c[r]! += c20; c[r + 1]! += c21; c[r + 2]! += c22; c[r + 3]! += c23; c[r + 4]! += c24; c[r + 5]! += c25; c[r + 6]! += c26; c[r + 7]! += c27; r += ldc;
      c[r]! += c30; c[r + 1]! += c31; c[r + 2]! += c32; c[r + 3]! += c33; c[r + 4]! += c34; c[r + 5]! += c35; c[r + 6]! += c36; c[r + 7]! += c37;
    }
    return;
  }
  // Ragged edge: only mr×nr of the tile is inside C.
  const t = edgeTile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c04; t[5] = c05; t[6] = c06; t[7] = c07;
  t[8] = c10; t[9] = c11; t[10] = c12; t[11] = c13; t[12] = c14; t[13] = c15; t[14] = c16; t[15] = c17;
  t[16] = c20; t[17] = c21; t[18] = c22; t[19] = c23; t[20] = c24; t[21] = c25; t[22] = c26; t[23] = c27;
  t[24] = c30; t[25] = c31; t[26] = c32; t[27] = c33; t[28] = c34; t[29] = c35; t[30] = c36; t[31] = c37;
  for (let i = 0; i < mr; i++) {
    const row = ci + i * ldc;
    for (let j = 0; j < nr; j++) {
      if (first) c[row + j] = t[i * NR + j]!;
      else c[row + j]! += t[i * NR + j]!;
    }
  }
}

/**
 * Unblocked product for small or skinny shapes, accumulating each output row
 * in double precision. Uses axpy order (contiguous B rows) when B's columns
 * are contiguous, dot products otherwise.
 */
let rowAcc = new Float64Array(256);
function gemmDirect(
  m: number, n: number, k: number,
  a: FloatArray, aBase: number, ars: number, acs: number,
  b: FloatArray, bBase: number, brs: number, bcs: number,
  c: FloatArray, cBase: number,
): void {
  if (bcs === 1) {
    if (rowAcc.length < n) rowAcc = new Float64Array(n);
    const acc = rowAcc;
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, n);
      for (let p = 0; p < k; p++) {
        const x = a[aBase + i * ars + p * acs]!;
        const row = bBase + p * brs;
        for (let j = 0; j < n; j++) acc[j]! += x * b[row + j]!;
      }
      const out = cBase + i * n;
      for (let j = 0; j < n; j++) c[out + j] = acc[j]!;
    }
    return;
  }
  // j outer so each column of B is streamed once for all (few) rows of A; four
  // partial sums break the add dependency chain of a single accumulator.
  for (let j = 0; j < n; j++) {
    const bCol = bBase + j * bcs;
    for (let i = 0; i < m; i++) {
      const aRow = aBase + i * ars;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, p = 0;
      for (; p + 3 < k; p += 4) {
        s0 += a[aRow + p * acs]! * b[bCol + p * brs]!;
        s1 += a[aRow + (p + 1) * acs]! * b[bCol + (p + 1) * brs]!;
        s2 += a[aRow + (p + 2) * acs]! * b[bCol + (p + 2) * brs]!;
        s3 += a[aRow + (p + 3) * acs]! * b[bCol + (p + 3) * brs]!;
      }
      for (; p < k; p++) s0 += a[aRow + p * acs]! * b[bCol + p * brs]!;
      c[cBase + i * n + j] = s0 + s1 + s2 + s3;
    }
  }
}
