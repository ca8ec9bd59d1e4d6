import { DTypeError, type DType } from '@adapterkit/core';

/**
 * CUDA C shared by the built-in kernels. Self-contained (no #include), so
 * NVRTC needs no header search path. f16 and bf16 are stored as raw 16-bit
 * patterns and converted here bit for bit as core's tensor/dtype.ts does
 * (round to nearest even; NaN → quiet NaN with the sign kept), so casts match
 * the reference exactly.
 */
export const PRELUDE = String.raw`
typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef int i32;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

#define INF_F (__int_as_float(0x7f800000))
#define NAN_F (__int_as_float(0x7fc00000))

__device__ __forceinline__ float bf16_to_f32(u16 b) { return __uint_as_float(((u32)b) << 16); }
__device__ __forceinline__ u16 f32_to_bf16(float f) {
  u32 x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (u16)(((x >> 16) | 0x40u) & 0xffffu);
  u32 r = 0x7fffu + ((x >> 16) & 1u);
  return (u16)((x + r) >> 16);
}
__device__ __forceinline__ float f16_to_f32(u16 h) {
  u32 sign = ((u32)h & 0x8000u) << 16, e = ((u32)h >> 10) & 0x1fu, m = (u32)h & 0x3ffu;
  if (e == 0) { float v = (float)m * 5.9604644775390625e-8f; return sign ? -v : v; }
  if (e == 0x1f) return m ? NAN_F : __uint_as_float(sign | 0x7f800000u);
  return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
}
__device__ __forceinline__ u16 f32_to_f16(float f) {
  u32 x = __float_as_uint(f);
  u32 sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
  if (exp == 0xffu) return (u16)(sign | 0x7c00u | (mant ? 0x200u : 0u));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (u16)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (u16)sign;
    mant |= 0x800000u;
    u32 shift = (u32)(14 - e);
    u32 half = mant >> shift, rem = mant & ((1u << shift) - 1u), mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (u16)(sign | half);
  }
  u32 half = ((u32)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;
  return (u16)(sign | half);
}

// A float converted to an integer as a JS typed array stores it: truncation
// toward zero, then modulo 2^32 (NaN and infinities become 0).
__device__ __forceinline__ u32 wrap_u32(double x) {
  if (!isfinite(x)) return 0u;
  double m = fmod(trunc(x), 4294967296.0);
  if (m < 0.0) m += 4294967296.0;
  return (u32)m;
}

// Grid-stride loop over n elements.
#define FOR_EACH(i, n) for (IDX i = (IDX)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (IDX)gridDim.x * blockDim.x)
`;

/** How a dtype is stored and computed in CUDA C. */
export interface CudaDType {
  /** Storage type. */
  ctype: string;
  /** Arithmetic type: float for the float dtypes, int for the integer ones. */
  compute: 'float' | 'int';
  /** Expression converting a stored value to the compute type. */
  load(expr: string): string;
  /** Expression converting a compute value to the storage type. */
  store(expr: string): string;
}

const TYPES: Partial<Record<DType, CudaDType>> = {
  f32: { ctype: 'float', compute: 'float', load: (e) => e, store: (e) => e },
  f16: { ctype: 'u16', compute: 'float', load: (e) => `f16_to_f32(${e})`, store: (e) => `f32_to_f16(${e})` },
  bf16: { ctype: 'u16', compute: 'float', load: (e) => `bf16_to_f32(${e})`, store: (e) => `f32_to_bf16(${e})` },
  i32: { ctype: 'i32', compute: 'int', load: (e) => e, store: (e) => e },
  u8: { ctype: 'u8', compute: 'int', load: (e) => `(int)${e}`, store: (e) => `(u8)(${e})` },
  i8: { ctype: 'i8', compute: 'int', load: (e) => `(int)${e}`, store: (e) => `(i8)(${e})` },
};

/** Dtypes the backend stores (f64 is not supported on CUDA). */
export const CUDA_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'i8'];

export function cudaType(kernel: string, dtype: DType): CudaDType {
  const t = TYPES[dtype];
  if (!t) throw new DTypeError(`cuda kernel '${kernel}' does not support dtype ${dtype} (the CUDA backend stores ${CUDA_DTYPES.join(', ')})`);
  return t;
}

/** Storage type of the same width, for kernels that only move bits. */
export function bitsType(dtype: DType): string {
  switch (dtype) {
    case 'f32': case 'i32': return 'u32';
    case 'f16': case 'bf16': return 'u16';
    case 'u8': case 'i8': return 'u8';
    default: throw new DTypeError(`cuda: dtype ${dtype} is not supported (the CUDA backend stores ${CUDA_DTYPES.join(', ')})`);
  }
}

/** Threads per block of the 1-D kernels. */
export const BLOCK = 256;

/** Blocks for a grid-stride loop over n elements (capped: the loop covers the rest). */
export function blocksFor(n: number, block = BLOCK): number {
  return Math.max(1, Math.min(Math.ceil(n / block), 65536));
}
