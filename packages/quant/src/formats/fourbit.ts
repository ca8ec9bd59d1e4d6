import { codeSearch, codeTable, type QuantType4 } from './codes.js';

/**
 * Blockwise 4-bit quantization (NF4 / FP4) of a flat float32 array, bit for
 * bit as bitsandbytes' reference (`backends/default/ops.py quantize_4bit`):
 *
 * - the values are cut into blocks of `blockSize` in row-major order (the
 *   last block may be partial); absmax = max |x| of each block (float32);
 * - x is scaled by `fround(1 / max(absmax, 1e-38))`, clamped to [-1, 1], and
 *   given the nearest code (ties to the lower code value: see `codeSearch`);
 * - two codes per byte: element 2j in the HIGH nibble, 2j+1 in the low one;
 *   an odd count is padded with a zero code value (the nearest code to 0).
 *
 * The packed array has ceil(n / 2) bytes, bitsandbytes' [(n + 1) / 2, 1] weight.
 */
export interface Packed4 {
  packed: Uint8Array;
  /** One float32 absmax per block. */
  absmax: Float32Array;
}

/** Valid block sizes (bitsandbytes accepts the same ones). */
export const BLOCK_SIZES_4BIT: readonly number[] = [32, 64, 128, 256, 512, 1024, 2048, 4096];

export function checkBlockSize(blockSize: number, where: string): void {
  if (!BLOCK_SIZES_4BIT.includes(blockSize)) {
    throw new Error(`${where}: invalid blockSize ${blockSize}; valid: ${BLOCK_SIZES_4BIT.join(', ')}`);
  }
}

/** Number of blocks of `blockSize` covering n values. */
export function blockCount(n: number, blockSize: number): number {
  return Math.ceil(n / blockSize);
}

/** The code of one scaled value in [-1, 1] (bucketize on the float32 midpoints). */
function nearestCode(x: number, bounds: Float32Array, order: Uint8Array): number {
  // Binary search for #{bounds < x}.
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return order[lo]!;
}

/** Quantizes `values` to packed 4-bit codes and per-block absmax. */
export function quantize4bit(values: ArrayLike<number>, quantType: QuantType4, blockSize: number): Packed4 {
  checkBlockSize(blockSize, 'quantize4bit');
  const n = values.length;
  const { bounds, order } = codeSearch(codeTable(quantType));
  const blocks = blockCount(n, blockSize);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(Math.ceil(n / 2));
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(n, start + blockSize);
    let m = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]!);
      if (a > m || Number.isNaN(a)) m = a;
    }
    absmax[b] = m;
    const inv = Math.fround(1 / Math.max(Math.fround(m), 1e-38));
    for (let i = start; i < end; i++) {
      let s = Math.fround(values[i]! * inv);
      if (s > 1) s = 1;
      else if (s < -1) s = -1;
      const q = nearestCode(s, bounds, order);
      packed[i >> 1] |= i & 1 ? q : q << 4;
    }
  }
  // The pad value of an odd count is a scaled 0.
  if (n & 1) packed[n >> 1] |= nearestCode(0, bounds, order);
  return { packed, absmax };
}

/**
 * out[i] = code[nibble i] · absmax[i / blockSize] in float32 (bitsandbytes'
 * dequantize_4bit), for the first n values of a packed array.
 */
export function dequantize4bit(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blockSize: number, n: number): Float32Array {
  if (packed.length < Math.ceil(n / 2)) throw new Error(`dequantize4bit: ${packed.length} packed bytes hold fewer than ${n} values`);
  if (absmax.length < blockCount(n, blockSize)) throw new Error(`dequantize4bit: ${absmax.length} absmax values for ${blockCount(n, blockSize)} blocks of ${blockSize}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = packed[i >> 1]!;
    const q = i & 1 ? byte & 15 : byte >> 4;
    out[i] = code[q]! * absmax[(i / blockSize) | 0]!;
  }
  return out;
}
