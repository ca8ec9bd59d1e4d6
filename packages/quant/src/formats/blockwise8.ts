/**
 * Blockwise 8-bit quantization with a sorted 256-entry code (bitsandbytes
 * `quantize_blockwise` / `dequantize_blockwise`), used for the absmax values
 * of double quantization.
 *
 * Code choice follows bitsandbytes' CPU kernel (0.50), so codes are bit-exact
 * with it: v = x / absmax (float32) is mapped to a 65536-point grid over
 * [-1, 1] (index = trunc(((v + 1)·0.5)·65535 + 0.5) in float32) and a
 * precomputed table gives the code nearest to that grid point (ties to the
 * lower code). This is the nearest code except within half a grid step
 * (≈1.5e-5) of a midpoint between two codes, where it may pick the other
 * neighbour; bitsandbytes' CUDA kernel (binary search with midpoints) can
 * differ from it there. Dequantization is exact either way.
 */
export interface Blockwise8 {
  codes: Uint8Array;
  absmax: Float32Array;
}

const GRID = 65536;
const luts = new Map<Float32Array, Uint8Array>();

/** Index of the code value nearest to v; a tie goes to the lower code (lower_bound, then compare distances). */
function nearestSorted(v: number, code: Float32Array): number {
  const c = Math.min(1, Math.max(-1, v));
  let lo = 0;
  let hi = code.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (code[mid]! < c) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === code.length) return code.length - 1;
  const left = Math.abs(Math.fround(c - code[lo - 1]!));
  const right = Math.abs(Math.fround(code[lo]! - c));
  return right < left ? lo : lo - 1;
}

/** The grid → code table of a code (cached per table). */
function lutOf(code: Float32Array): Uint8Array {
  let lut = luts.get(code);
  if (lut) return lut;
  lut = new Uint8Array(GRID);
  for (let k = 0; k < GRID; k++) lut[k] = nearestSorted(Math.fround(Math.fround(Math.fround(k / 65535) * 2) - 1), code);
  luts.set(code, lut);
  return lut;
}

/** Grid index of a normalised value (float32 steps as bitsandbytes; NaN, from a zero block, gives 0). */
function gridIndex(v: number): number {
  if (Number.isNaN(v)) return 0;
  const c = Math.min(1, Math.max(-1, v));
  const t = Math.fround(Math.fround(Math.fround(Math.fround(c + 1) * 0.5) * 65535) + 0.5);
  return Math.min(GRID - 1, Math.trunc(t));
}

export function quantizeBlockwise8(values: ArrayLike<number>, code: Float32Array, blockSize: number): Blockwise8 {
  if (code.length !== 256) throw new Error(`quantizeBlockwise8: the code needs 256 values, got ${code.length}`);
  for (let i = 1; i < code.length; i++) {
    if (!(code[i]! >= code[i - 1]!)) throw new Error(`quantizeBlockwise8: the code must be sorted ascending (entry ${i})`);
  }
  const lut = lutOf(code);
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const codes = new Uint8Array(n);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(values[i]!));
    absmax[b] = m;
    const am = Math.fround(m);
    // A block of zeros divides 0 by 0: the NaN lands on code 0, as in bitsandbytes.
    for (let i = start; i < end; i++) codes[i] = lut[gridIndex(Math.fround(values[i]! / am))]!;
  }
  return { codes, absmax };
}

/** out[i] = code[codes[i]] · absmax[i / blockSize] in float32. */
export function dequantizeBlockwise8(codes: Uint8Array, absmax: Float32Array, code: Float32Array, blockSize: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = code[codes[i]!]! * absmax[(i / blockSize) | 0]!;
  return out;
}
