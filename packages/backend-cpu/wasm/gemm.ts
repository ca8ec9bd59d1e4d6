// WebAssembly SIMD (128-bit) f32 GEMM, written in AssemblyScript and built by
// scripts/build-wasm.mjs (`asc` from the npm registry; no C toolchain). The
// browser counterpart of native/gemm.inl: the same packed GotoBLAS loop nest
// with a 4x8 register tile (8 v128 accumulators), one thread. WebAssembly
// SIMD has no fused multiply-add in its base set, so each step is mul + add.
//
// All addresses are byte offsets into this module's memory; strides are in
// elements: op(A)(i, p) = a[i*ars + p*acs], op(B)(p, j) = b[p*brs + j*bcs],
// C row-major with n columns.

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 2048;

/** First free byte after the module's static data: the JS side places its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of packing scratch gemm() needs for an n-column product: packed A, packed B, and one edge tile. */
export function scratchBytes(n: i32): usize {
  const nb = min(NC, n);
  const nbr = ((nb + NR - 1) / NR) * NR;
  return <usize>(MC * KC + KC * nbr + MR * NR) << 2;
}

@inline function addr(base: usize, elem: i32): usize {
  return base + (<usize>elem << 2);
}

function packA(a: usize, ars: i32, acs: i32, mc: i32, kc: i32, pa: usize): void {
  let dst = pa;
  for (let ir = 0; ir < mc; ir += MR) {
    const h = min(MR, mc - ir);
    for (let p = 0; p < kc; p++) {
      for (let ii = 0; ii < MR; ii++) {
        const v: f32 = ii < h ? load<f32>(addr(a, (ir + ii) * ars + p * acs)) : 0;
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

function packB(b: usize, brs: i32, bcs: i32, kc: i32, nc: i32, pb: usize): void {
  let dst = pb;
  for (let j = 0; j < nc; j += NR) {
    const w = min(NR, nc - j);
    if (bcs == 1 && w == NR) {
      for (let p = 0; p < kc; p++) {
        const src = addr(b, p * brs + j);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += NR << 2;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let jj = 0; jj < NR; jj++) {
          const v: f32 = jj < w ? load<f32>(addr(b, p * brs + (j + jj) * bcs)) : 0;
          store<f32>(dst, v);
          dst += 4;
        }
      }
    }
  }
}

/** C[mr x nr] (+)= packed A micro-panel (kc x 4) x packed B micro-panel (kc x 8). */
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, mr: i32, nr: i32, accumulate: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load_splat<f32>(pa);
    c00 = f32x4.add(c00, f32x4.mul(av, b0));
    c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load_splat<f32>(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0));
    c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load_splat<f32>(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0));
    c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load_splat<f32>(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0));
    c31 = f32x4.add(c31, f32x4.mul(av, b1));
    pa += MR << 2;
    pb += NR << 2;
  }
  const full = mr == MR && nr == NR;
  const out = full ? c : tile;
  const ld: usize = full ? <usize>ldc << 2 : <usize>NR << 2;
  let r0 = out, r1 = out + ld, r2 = out + 2 * ld, r3 = out + 3 * ld;
  if (full && accumulate) {
    v128.store(r0, f32x4.add(v128.load(r0), c00)); v128.store(r0, f32x4.add(v128.load(r0, 16), c01), 16);
    v128.store(r1, f32x4.add(v128.load(r1), c10)); v128.store(r1, f32x4.add(v128.load(r1, 16), c11), 16);
    v128.store(r2, f32x4.add(v128.load(r2), c20)); v128.store(r2, f32x4.add(v128.load(r2, 16), c21), 16);
    v128.store(r3, f32x4.add(v128.load(r3), c30)); v128.store(r3, f32x4.add(v128.load(r3, 16), c31), 16);
    return;
  }
  v128.store(r0, c00); v128.store(r0, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
  if (full) return;
  // Ragged edge: copy the mr x nr part of the tile into C.
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const dst = addr(c, i * ldc + j);
      const v = load<f32>(addr(tile, i * NR + j));
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

/** C = op(A)·op(B) (k > 0); scratch is scratchBytes(n) bytes. */
export function gemm(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, m: i32, n: i32, k: i32, scratch: usize): void {
  const pa = scratch;
  const pb = scratch + (<usize>(MC * KC) << 2);
  const nbr = ((min(NC, n) + NR - 1) / NR) * NR;
  const tile = pb + (<usize>(KC * nbr) << 2);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(addr(b, pc * brs + jc * bcs), brs, bcs, kc, nc, pb);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(addr(a, ic * ars + pc * acs), ars, acs, mc, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bp = addr(pb, jr * kc);
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, addr(pa, ir * kc), bp, addr(c, (ic + ir) * n + jc + jr), n, min(MR, mc - ir), nr, pc > 0, tile);
          }
        }
      }
    }
  }
}
