import { DTypeError } from '../../errors.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, type DType, type TypedArray } from '../../tensor/dtype.js';
import type { KernelArgs } from '../backend.js';
import { arrayOf, checkSameDType } from './common.js';
import { StridedRuns } from './strided.js';

/**
 * Data-movement elementwise kernels: copy, cast, where. They move raw stored
 * values, so they work for every dtype (f16/bf16 bit patterns included).
 */

/** y[...] = x[...] where both views may be strided (y is a slice being written into). */
export function copyKernel(args: KernelArgs): void {
  const x = args.inputs[0]!;
  const y = args.outputs[0]!;
  checkSameDType('copy', [y, x]);
  // Source and target may overlap in one storage (x[1:] = x[:-1]); read from a snapshot then.
  const src = x.storage === y.storage ? arrayOf(x).slice() : arrayOf(x);
  const dst = arrayOf(y);
  const it = new StridedRuns('copy', [y, x]);
  const o = it.offsets, s = it.steps, n = it.n;
  for (let r = 0; r < it.rows; r++) {
    let yi = o[0]!, xi = o[1]!;
    const ys = s[0]!, xs = s[1]!;
    if (ys === 1 && xs === 1) dst.set(src.subarray(xi, xi + n), yi);
    else for (let i = 0; i < n; i++, yi += ys, xi += xs) dst[yi] = src[xi]!;
    it.next();
  }
}

type Codec = 'plain' | 'f16' | 'bf16';
const codecOf = (d: DType): Codec => (d === 'f16' ? 'f16' : d === 'bf16' ? 'bf16' : 'plain');

/**
 * Converts dtype. Typed-array assignment already gives the required
 * semantics: float→int truncates toward zero and wraps modulo 2^bits (NaN→0);
 * f16/bf16 go through their bit codecs (via f32, as dtype.ts rounds).
 */
export function castKernel(args: KernelArgs): void {
  const x = args.inputs[0]!;
  const y = args.outputs[0]!;
  const from = codecOf(x.dtype), to = codecOf(y.dtype);
  const src = arrayOf(x), dst = arrayOf(y);
  const it = new StridedRuns('cast', [y, x]);
  const o = it.offsets, s = it.steps, n = it.n;
  for (let r = 0; r < it.rows; r++) {
    let yi = o[0]!, xi = o[1]!;
    const ys = s[0]!, xs = s[1]!;
    if (x.dtype === y.dtype || (from === 'plain' && to === 'plain')) {
      for (let i = 0; i < n; i++, yi += ys, xi += xs) dst[yi] = src[xi]!;
    } else {
      for (let i = 0; i < n; i++, yi += ys, xi += xs) dst[yi] = encode(to, decode(from, src[xi]!));
    }
    it.next();
  }
}

function decode(c: Codec, v: number): number {
  return c === 'plain' ? v : c === 'f16' ? f16BitsToF32(v) : bf16BitsToF32(v);
}

function encode(c: Codec, v: number): number {
  return c === 'plain' ? v : c === 'f16' ? f32ToF16Bits(v) : f32ToBf16Bits(v);
}

/** y = cond ? a : b; cond is u8, a/b/y share a dtype; all inputs strided. */
export function whereKernel(args: KernelArgs): void {
  const c = args.inputs[0]!, a = args.inputs[1]!, b = args.inputs[2]!;
  const y = args.outputs[0]!;
  if (c.dtype !== 'u8') throw new DTypeError(`cpu-ref kernel 'where' expects a u8 condition, got ${c.dtype}; compare ops produce u8`);
  checkSameDType('where', [y, a, b]);
  const cs = arrayOf(c), as = arrayOf(a), bs = arrayOf(b), ys = arrayOf(y);
  const it = new StridedRuns('where', [y, c, a, b]);
  const o = it.offsets, s = it.steps;
  for (let r = 0; r < it.rows; r++) {
    whereRun(cs, o[1]!, s[1]!, as, o[2]!, s[2]!, bs, o[3]!, s[3]!, ys, o[0]!, s[0]!, it.n);
    it.next();
  }
}

function whereRun(
  c: TypedArray, ci: number, cs: number,
  a: TypedArray, ai: number, as: number,
  b: TypedArray, bi: number, bs: number,
  y: TypedArray, yi: number, ys: number, n: number,
): void {
  for (let i = 0; i < n; i++, yi += ys, ci += cs, ai += as, bi += bs) y[yi] = c[ci] !== 0 ? a[ai]! : b[bi]!;
}
