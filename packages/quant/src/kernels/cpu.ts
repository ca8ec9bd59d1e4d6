import type { Backend, KernelArgs, TypedArray, View } from '@adapterkit/core';
import { INV_127 } from '../formats/int8.js';
import type { Quant4Attrs, Quant8Attrs } from './contract.js';

/**
 * TypeScript kernels for CPU backends whose storage handle is the dtype's
 * typed array ('cpu-ref', and the fast 'cpu' backend, which keeps the same
 * memory layout). Accumulation is in float64 (JS numbers); W is dequantized
 * TILE rows at a time into a float32 scratch, so values match the
 * dequantize-then-matmul reference exactly up to summation order.
 */
const TILE = 16;

function arr(v: View): TypedArray {
  return v.storage.handle as TypedArray;
}

/** Fills `tile` with rows [r0, r0 + rows) of a dequantized matrix. */
export type RowDequantizer = (r0: number, rows: number, tile: Float32Array) => void;

export function rows4(inputs: View[], a: Quant4Attrs): RowDequantizer {
  const [, wv, av, nav, cv, ncv] = inputs as [View, View, View, View, View, View];
  const w = arr(wv) as Uint8Array;
  const wOff = wv.offset;
  const absmax = arr(av);
  const aOff = av.offset;
  const code = arr(cv) as Float32Array;
  const cOff = cv.offset;
  const { k, blockSize, nested, nestedBlockSize } = a;
  const offset = Math.fround(a.offset);
  const nAbs = arr(nav) as Float32Array;
  const nCode = arr(ncv) as Float32Array;
  const scaleOf = nested
    ? (b: number) => Math.fround(Math.fround(nCode[ncv.offset + absmax[aOff + b]!]! * nAbs[nav.offset + Math.floor(b / nestedBlockSize)]!) + offset)
    : (b: number) => absmax[aOff + b]!;
  // Code values of a byte's high and low nibble: two elements per byte without shifts in the inner loop.
  const hi = new Float64Array(256);
  const lo = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    hi[v] = code[cOff + (v >> 4)]!;
    lo[v] = code[cOff + (v & 15)]!;
  }
  // Products of two float32 values are exact in float64; storing into the Float32Array rounds once, as fround(code·scale).
  return (r0, rows, tile) => {
    const e0 = r0 * k;
    const e1 = e0 + rows * k;
    let e = e0;
    let t = 0;
    while (e < e1) {
      const b = Math.floor(e / blockSize);
      const scale = scaleOf(b);
      const end = Math.min(e1, (b + 1) * blockSize);
      if (e & 1) tile[t++] = lo[w[wOff + (e++ >> 1)]!]! * scale;
      for (; e + 1 < end; e += 2) {
        const byte = w[wOff + (e >> 1)]!;
        tile[t++] = hi[byte]! * scale;
        tile[t++] = lo[byte]! * scale;
      }
      if (e < end) tile[t++] = hi[w[wOff + (e++ >> 1)]!]! * scale;
    }
  };
}

export function rows8(inputs: View[], a: Quant8Attrs): RowDequantizer {
  const [, wv, sv] = inputs as [View, View, View];
  const w = arr(wv) as Int8Array;
  const scb = arr(sv) as Float32Array;
  const { k } = a;
  return (r0, rows, tile) => {
    for (let r = 0; r < rows; r++) {
      const s = scb[sv.offset + r0 + r]!;
      const src = wv.offset + (r0 + r) * k;
      for (let c = 0; c < k; c++) tile[r * k + c] = Math.fround(w[src + c]! * s) * INV_127;
    }
  };
}

/** The data rows widened to float64 once (the inner loops then read one array type). */
function widen(v: View, rows: number, cols: number): Float64Array {
  const src = arr(v);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) out[i] = src[v.offset + i]!;
  return out;
}

/** y [m, n] = x [m, k] · Wᵀ, W dequantized TILE rows at a time; 4×4 register blocks over (x rows, W rows). */
function matmul(x: View, y: View, m: number, n: number, k: number, rowsOf: RowDequantizer): void {
  const xs = widen(x, m, k);
  const ys = arr(y);
  const yOff = y.offset;
  const tile32 = new Float32Array(TILE * k);
  const tile = new Float64Array(TILE * k);
  for (let r0 = 0; r0 < n; r0 += TILE) {
    const rows = Math.min(TILE, n - r0);
    rowsOf(r0, rows, tile32);
    for (let e = 0; e < rows * k; e++) tile[e] = tile32[e]!;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
      let r = 0;
      for (; r + 4 <= rows; r += 4) {
        const b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (let c = 0; c < k; c++) {
          const x0 = xs[a0 + c]!, x1 = xs[a1 + c]!, x2 = xs[a2 + c]!, x3 = xs[a3 + c]!;
          const w0 = tile[b0 + c]!, w1 = tile[b1 + c]!, w2 = tile[b2 + c]!, w3 = tile[b3 + c]!;
          s00 += x0 * w0; s01 += x0 * w1; s02 += x0 * w2; s03 += x0 * w3;
          s10 += x1 * w0; s11 += x1 * w1; s12 += x1 * w2; s13 += x1 * w3;
          s20 += x2 * w0; s21 += x2 * w1; s22 += x2 * w2; s23 += x2 * w3;
          s30 += x3 * w0; s31 += x3 * w1; s32 += x3 * w2; s33 += x3 * w3;
        }
        const o = yOff + i * n + r0 + r;
        ys[o] = s00; ys[o + 1] = s01; ys[o + 2] = s02; ys[o + 3] = s03;
        ys[o + n] = s10; ys[o + n + 1] = s11; ys[o + n + 2] = s12; ys[o + n + 3] = s13;
        ys[o + 2 * n] = s20; ys[o + 2 * n + 1] = s21; ys[o + 2 * n + 2] = s22; ys[o + 2 * n + 3] = s23;
        ys[o + 3 * n] = s30; ys[o + 3 * n + 1] = s31; ys[o + 3 * n + 2] = s32; ys[o + 3 * n + 3] = s33;
      }
      for (; r < rows; r++) dots(xs, tile, ys, yOff + r0 + r, n, i, i + 4, r * k, k);
    }
    for (let r = 0; r < rows; r++) dots(xs, tile, ys, yOff + r0 + r, n, i, m, r * k, k);
  }
}

/** y[i, col] = x[i, :] · tile[row, :] for rows i0 … i1 of x (edges of the register blocking). */
function dots(xs: Float64Array, tile: Float64Array, ys: TypedArray, col: number, n: number, i0: number, i1: number, tb: number, k: number): void {
  for (let i = i0; i < i1; i++) {
    const xb = i * k;
    let s = 0;
    for (let c = 0; c < k; c++) s += xs[xb + c]! * tile[tb + c]!;
    ys[col + i * n] = s;
  }
}

/** dx [m, k] = dy [m, n] · W, W dequantized TILE rows at a time; each dx row takes 4 W rows per pass. */
function matmulBackward(dy: View, dx: View, m: number, n: number, k: number, rowsOf: RowDequantizer): void {
  const g = widen(dy, m, n);
  const out = arr(dx);
  const acc = new Float64Array(m * k);
  const tile32 = new Float32Array(TILE * k);
  const tile = new Float64Array(TILE * k);
  for (let r0 = 0; r0 < n; r0 += TILE) {
    const rows = Math.min(TILE, n - r0);
    rowsOf(r0, rows, tile32);
    for (let e = 0; e < rows * k; e++) tile[e] = tile32[e]!;
    for (let i = 0; i < m; i++) {
      const ab = i * k;
      const gb = i * n + r0;
      let r = 0;
      for (; r + 4 <= rows; r += 4) {
        const g0 = g[gb + r]!, g1 = g[gb + r + 1]!, g2 = g[gb + r + 2]!, g3 = g[gb + r + 3]!;
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        for (let c = 0; c < k; c++) acc[ab + c]! += g0 * tile[b0 + c]! + g1 * tile[b1 + c]! + g2 * tile[b2 + c]! + g3 * tile[b3 + c]!;
      }
      for (; r < rows; r++) {
        const gv = g[gb + r]!;
        if (gv === 0) continue;
        const tb = r * k;
        for (let c = 0; c < k; c++) acc[ab + c]! += gv * tile[tb + c]!;
      }
    }
  }
  for (let i = 0; i < m * k; i++) out[dx.offset + i] = acc[i]!;
}

/** W [n, k] f32, dequantized TILE rows at a time straight into the output. */
function dequantize(out: View, n: number, k: number, rowsOf: RowDequantizer): void {
  const o = arr(out) as Float32Array;
  const tile = new Float32Array(TILE * k);
  for (let r0 = 0; r0 < n; r0 += TILE) {
    const rows = Math.min(TILE, n - r0);
    rowsOf(r0, rows, tile);
    o.set(rows === TILE ? tile : tile.subarray(0, rows * k), out.offset + r0 * k);
  }
}

function checkFloat(kernel: string, v: View): void {
  if (v.dtype !== 'f32' && v.dtype !== 'f64') throw new Error(`${kernel}: expected f32 or f64 data, got ${v.dtype}`);
}

export const cpuQuantKernels = {
  quantMatmul4bit(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant4Attrs>): void {
    checkFloat('quantMatmul4bit', inputs[0]!);
    matmul(inputs[0]!, outputs[0]!, attrs.m, attrs.n, attrs.k, rows4(inputs, attrs));
  },
  quantMatmul4bitBackward(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant4Attrs>): void {
    checkFloat('quantMatmul4bitBackward', inputs[0]!);
    matmulBackward(inputs[0]!, outputs[0]!, attrs.m, attrs.n, attrs.k, rows4(inputs, attrs));
  },
  quantDequantize4bit(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant4Attrs>): void {
    dequantize(outputs[0]!, attrs.n, attrs.k, rows4(inputs, attrs));
  },
  quantMatmul8bit(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant8Attrs>): void {
    checkFloat('quantMatmul8bit', inputs[0]!);
    matmul(inputs[0]!, outputs[0]!, attrs.m, attrs.n, attrs.k, rows8(inputs, attrs));
  },
  quantMatmul8bitBackward(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant8Attrs>): void {
    checkFloat('quantMatmul8bitBackward', inputs[0]!);
    matmulBackward(inputs[0]!, outputs[0]!, attrs.m, attrs.n, attrs.k, rows8(inputs, attrs));
  },
  quantDequantize8bit(_b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant8Attrs>): void {
    dequantize(outputs[0]!, attrs.n, attrs.k, rows8(inputs, attrs));
  },
};
