import { DTypeError, allocArray, bytesPerElement, f32ToBf16Bits, f32ToF16Bits, type DType, type KernelArgs, type PrimitiveAttrs, type View } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { ENTRY_1D, MATH_WGSL, Params, WG, computeType, grid, header, outAccess, storeFns } from '../shader.js';
import { checkU32 } from './common.js';

/**
 * fill and the counter-based random kernel.
 *
 * fill: the host encodes the value once into a 32-bit word pattern (the
 * element repeated 1, 2 or 4 times, converted exactly as the reference's typed
 * array would), and the shader writes words, masking the partial words at the
 * ends of a sub-word range. An all-zero pattern on a word-aligned range is a
 * clearBuffer.
 *
 * random: element i is a pure function of (seed, counter + i mod 2^32) by the
 * lowbias32 hash of core's random/hash.ts — u32 multiply wraps in WGSL exactly
 * like Math.imul, so the 24 random bits are identical on every backend. The
 * uniform value (bits·2^-24) is exact in f32; bernoulli compares those bits
 * with ceil(p·2^24) in integers, so masks are bit-identical too. Only the
 * final float transforms (low + span·u, Box–Muller's log/sqrt/cos) round in
 * f32 instead of f64.
 */

/** The 32-bit word holding `value` in `dtype`, repeated to fill the word. */
function wordPattern(dtype: DType, value: number): number {
  const arr = allocArray(dtype, 4 / bytesPerElement(dtype));
  if (dtype === 'f16') arr.fill(f32ToF16Bits(value));
  else if (dtype === 'bf16') arr.fill(f32ToBf16Bits(value));
  else arr.fill(value);
  return new Uint32Array(arr.buffer, arr.byteOffset, 1)[0]!;
}

const FILL_WGSL = `${header([{ name: 'y', access: 'write' }])}
${ENTRY_1D}
  let w0 = pu(0u);
  let w = w0 + gid;
  if (w >= pu(1u)) { return; }
  let pat = pu(2u);
  var mask = 0xffffffffu;
  if (w == w0) { mask = mask & pu(3u); }
  if (w == pu(1u) - 1u) { mask = mask & pu(4u); }
  if (mask == 0xffffffffu) { y[w] = pat; } else { y[w] = (y[w] & ~mask) | (pat & mask); }
}`;

/** Sets the contiguous range of `y` (shape's size from y.offset) to `value`. */
export function fillView(backend: WebGpuBackend, y: View, value: number): void {
  const size = y.shape.reduce((p, d) => p * d, 1);
  if (size === 0) return;
  const bpe = bytesPerElement(y.dtype);
  const b0 = y.offset * bpe, b1 = (y.offset + size) * bpe;
  checkU32('fill', b1);
  const pattern = wordPattern(y.dtype, value);
  const buffer = backend.bufferOf(y);
  const storageEnd = y.storage.size * bpe;
  if (pattern === 0 && b0 % 4 === 0 && (b1 % 4 === 0 || b1 === storageEnd)) {
    backend.clearBuffer(buffer, b0, Math.ceil(b1 / 4) * 4 - b0);
    return;
  }
  const w0 = Math.floor(b0 / 4), w1 = Math.ceil(b1 / 4);
  // Byte masks of the first and last word (bytes of the range inside that word).
  const firstMask = (0xffffffff << ((b0 % 4) * 8)) >>> 0;
  const lastBytes = b1 - (w1 - 1) * 4;
  const lastMask = lastBytes === 4 ? 0xffffffff : ((1 << (lastBytes * 8)) - 1) >>> 0;
  backend.dispatch({
    key: 'fill',
    code: () => FILL_WGSL,
    bindings: [{ buffer, access: 'write' }],
    params: new Params().u32(w0).u32(w1).u32(pattern).u32(firstMask).u32(lastMask),
    workgroups: grid(Math.ceil((w1 - w0) / WG)),
  });
}

export function fillKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['fill']>): void {
  fillView(backend, args.outputs[0]!, args.attrs.value);
}

/** The lowbias32 mixer of core's random/hash.ts. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Seed of the normal stream (random/hash.ts NORMAL_STREAM). */
const NORMAL_STREAM = 0x5bd1e995;

const RANDOM_BODY: Record<PrimitiveAttrs['random']['distribution'], (T: string) => string> = {
  // params: size, yOffset, mixedSeed, counter, low, span
  uniform: () => `let u = f32(hash(pu(2u), pu(3u) + gid) >> 8u) * 5.9604644775390625e-8;
  st_y(pu(1u) + gid, pf(4u) + pf(5u) * u);`,
  // params: size, yOffset, mixedNormalSeed, counter, mean, std
  normal: () => `let k = pu(3u) + gid;
  let u1 = f32(hash(pu(2u), 2u * k) >> 8u) * 5.9604644775390625e-8;
  let u2 = f32(hash(pu(2u), 2u * k + 1u) >> 8u) * 5.9604644775390625e-8;
  // cos(2π·u2) with the quadrant taken exactly from u2 (u2 is a multiple of 2^-24).
  let q = round(u2 * 4.0);
  let a = (u2 - q * 0.25) * 6.283185307179586;
  let qi = u32(q) & 3u;
  var c: f32;
  if (qi == 0u) { c = m_cos_poly(a); } else if (qi == 1u) { c = -m_sin_poly(a); } else if (qi == 2u) { c = -m_cos_poly(a); } else { c = m_sin_poly(a); }
  let z = sqrt(-2.0 * m_log(1.0 - u1)) * c;
  st_y(pu(1u) + gid, pf(4u) + pf(5u) * z);`,
  // params: size, yOffset, mixedSeed, counter, threshold = ceil(p·2^24)
  bernoulli: (T) => `let bits = hash(pu(2u), pu(3u) + gid) >> 8u;
  st_y(pu(1u) + gid, select(${T}(0), ${T}(1), bits < pu(4u)));`,
};

function randomWgsl(dist: PrimitiveAttrs['random']['distribution'], dtype: DType): string {
  return `${header([{ name: 'y', access: outAccess(dtype) }])}
${storeFns('y', dtype)}
${MATH_WGSL}
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
// hash2(seed, index) with mix32(seed) precomputed on the host.
fn hash(mixedSeed: u32, index: u32) -> u32 { return mix32(mixedSeed ^ index); }
${ENTRY_1D}
  if (gid >= pu(0u)) { return; }
  ${RANDOM_BODY[dist](computeType(dtype))}
}`;
}

const FLOAT: readonly DType[] = ['f32'];
const NUMERIC: readonly DType[] = ['f32', 'i32', 'u8', 'i8'];

export function randomKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['random']>): void {
  const y = args.outputs[0]!;
  const a = args.attrs;
  const allowed = a.distribution === 'bernoulli' ? NUMERIC : FLOAT;
  if (!allowed.includes(y.dtype)) {
    throw new DTypeError(`webgpu kernel 'random' (${a.distribution}) does not support dtype ${y.dtype}; supported: ${allowed.join(', ')}`);
  }
  if (!(a.distribution in RANDOM_BODY)) throw new Error(`webgpu kernel 'random': unknown distribution '${a.distribution as string}'`);
  const size = y.shape.reduce((p, d) => p * d, 1);
  checkU32('random', size);
  if (size === 0) return;
  const seed = a.seed >>> 0;
  const params = new Params().u32(size).u32(y.offset);
  switch (a.distribution) {
    case 'uniform': {
      const low = a.low ?? 0;
      params.u32(mix32(seed)).u32(a.counter >>> 0).f32v(low).f32v((a.high ?? 1) - low);
      break;
    }
    case 'normal':
      params.u32(mix32((seed ^ NORMAL_STREAM) >>> 0)).u32(a.counter >>> 0).f32v(a.mean ?? 0).f32v(a.std ?? 1);
      break;
    case 'bernoulli': {
      const p = a.p ?? 0.5;
      // uniform < p  ⟺  bits < p·2^24  ⟺  bits < ceil(p·2^24) for integer bits.
      const threshold = p <= 0 ? 0 : p >= 1 ? 2 ** 24 : Math.ceil(p * 2 ** 24);
      params.u32(mix32(seed)).u32(a.counter >>> 0).u32(threshold);
      break;
    }
  }
  backend.dispatch({
    key: `random:${a.distribution}:${y.dtype}`,
    code: () => randomWgsl(a.distribution, y.dtype),
    bindings: [{ buffer: backend.bufferOf(y), access: outAccess(y.dtype) }],
    params,
    workgroups: grid(Math.ceil(size / WG)),
  });
}
