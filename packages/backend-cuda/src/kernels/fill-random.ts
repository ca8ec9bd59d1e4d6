import { DTypeError, bytesPerElement, fromNumbers, type DType, type KernelArgs, type PrimitiveAttrs, type View } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { BLOCK, PRELUDE, blocksFor, cudaType } from './prelude.js';

/**
 * fill: the value is encoded on the host exactly as the reference stores it
 * (fromNumbers: f16/bf16 bits, integer truncation), then written as a 1-, 2-
 * or 4-byte pattern with cuMemsetD8/D16/D32Async — no kernel needed.
 *
 * random: element i is a pure function of (seed, counter + i mod 2^32) by the
 * lowbias32 hash of core's random/hash.ts; u32 multiplication wraps in CUDA
 * exactly like Math.imul, so the 24 random bits are identical. The float
 * transforms then run in double precision with the reference's operation
 * order and explicit IEEE round-to-nearest intrinsics (no FMA contraction),
 * rounded to f32 once at the store, as the reference's Float32Array store
 * does: uniform and bernoulli are bit-identical to the reference; normal
 * (Box–Muller's log/sqrt/cos in double) is too, except where CUDA's and V8's
 * double log or cos differ by one double ulp right at an f32 rounding
 * boundary (a ~1e-9 chance per element).
 */

/** Sets the contiguous range of `y` to `value` (encoded for y's dtype). */
export function fillView(b: CudaBackend, y: View, value: number): void {
  const size = y.shape.reduce((p, d) => p * d, 1);
  if (size === 0) return;
  const enc = fromNumbers([value], y.dtype);
  const width = bytesPerElement(y.dtype);
  if (width !== 1 && width !== 2 && width !== 4) throw new DTypeError(`cuda kernel 'fill' does not support dtype ${y.dtype}`);
  const pattern = width === 4 ? new Uint32Array(enc.buffer, enc.byteOffset, 1)[0]! : width === 2 ? new Uint16Array(enc.buffer, enc.byteOffset, 1)[0]! : new Uint8Array(enc.buffer, enc.byteOffset, 1)[0]!;
  b.ctx.memset(b.ptr(y), pattern, size, width);
}

export function fillKernel(b: CudaBackend, args: KernelArgs<PrimitiveAttrs['fill']>): void {
  fillView(b, args.outputs[0]!, args.attrs.value);
}

/** The lowbias32 mixer of core's random/hash.ts (host side, to pre-mix the seed). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Seed of the normal stream (random/hash.ts NORMAL_STREAM). */
const NORMAL_STREAM = 0x5bd1e995;

type Distribution = PrimitiveAttrs['random']['distribution'];

const BODY: Record<Distribution, (store: (v: string) => string) => string> = {
  // uniformAt(seed, k) = (hash >>> 8) / 2^24, exact in double; low + span·u rounded once.
  uniform: (store) => `double u = (double)(hash(ms, ctr + (u32)i) >> 8) * 5.9604644775390625e-8;
    y[i] = ${store('(float)__dadd_rn(a, __dmul_rn(s, u))')};`,
  // normalAt: Box–Muller over indices 2k, 2k+1 (mod 2^32) of the normal stream.
  normal: (store) => `u32 k = ctr + (u32)i;
    double u1 = (double)(hash(ms, 2u * k) >> 8) * 5.9604644775390625e-8;
    double u2 = (double)(hash(ms, 2u * k + 1u) >> 8) * 5.9604644775390625e-8;
    double z = __dmul_rn(sqrt(__dmul_rn(-2.0, log(__dsub_rn(1.0, u1)))), cos(__dmul_rn(6.283185307179586, u2)));
    y[i] = ${store('(float)__dadd_rn(a, __dmul_rn(s, z))')};`,
  // uniform < p, with the exact 24-bit uniform.
  bernoulli: (store) => `double u = (double)(hash(ms, ctr + (u32)i) >> 8) * 5.9604644775390625e-8;
    y[i] = ${store('u < a ? 1 : 0')};`,
};

/** CUDA source of the random kernel for one distribution and output dtype. */
export function randomSource(dist: Distribution, dtype: DType): string {
  const t = cudaType('random', dtype);
  return `${PRELUDE}
__device__ __forceinline__ u32 mix32(u32 x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
  return x;
}
// hash2(seed, index) of random/hash.ts with mix32(seed) pre-mixed on the host.
__device__ __forceinline__ u32 hash(u32 mixedSeed, u32 index) { return mix32(mixedSeed ^ index); }
typedef long long IDX;
extern "C" __global__ void k(${t.ctype}* __restrict__ y, IDX n, u32 ms, u32 ctr, double a, double s) {
  FOR_EACH(i, n) {
    ${BODY[dist](t.store)}
  }
}`;
}

const FLOAT: readonly DType[] = ['f32'];
const NUMERIC: readonly DType[] = ['f32', 'i32', 'u8', 'i8'];

export function randomKernel(b: CudaBackend, args: KernelArgs<PrimitiveAttrs['random']>): void {
  const y = args.outputs[0]!;
  const a = args.attrs;
  if (!(a.distribution in BODY)) throw new Error(`cuda kernel 'random': unknown distribution '${a.distribution as string}'`);
  const allowed = a.distribution === 'bernoulli' ? NUMERIC : FLOAT;
  if (!allowed.includes(y.dtype)) throw new DTypeError(`cuda kernel 'random' (${a.distribution}) does not support dtype ${y.dtype}; supported: ${allowed.join(', ')}`);
  const n = y.shape.reduce((p, d) => p * d, 1);
  if (n === 0) return;
  const seed = a.seed >>> 0;
  const p = new CudaParams().ptr(b.ptr(y)).i64(n);
  switch (a.distribution) {
    case 'uniform': {
      const low = a.low ?? 0;
      p.u32(mix32(seed)).u32(a.counter >>> 0).f64(low).f64((a.high ?? 1) - low);
      break;
    }
    case 'normal':
      p.u32(mix32((seed ^ NORMAL_STREAM) >>> 0)).u32(a.counter >>> 0).f64(a.mean ?? 0).f64(a.std ?? 1);
      break;
    case 'bernoulli':
      p.u32(mix32(seed)).u32(a.counter >>> 0).f64(a.p ?? 0.5).f64(0);
      break;
  }
  const fn = b.fn(`random:${a.distribution}:${y.dtype}`, () => randomSource(a.distribution, y.dtype), 'k');
  b.launch(fn, blocksFor(n), BLOCK, p);
}
