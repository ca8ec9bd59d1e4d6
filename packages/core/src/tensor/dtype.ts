/**
 * Element types. `f64` exists for finite-difference gradient checks on the
 * reference CPU backend; GPU backends may reject it.
 * `f16` and `bf16` are stored as raw 16-bit patterns (Uint16Array).
 */
export type DType = 'f32' | 'f64' | 'f16' | 'bf16' | 'i32' | 'u8' | 'i8';

export const DTYPES: readonly DType[] = ['f32', 'f64', 'f16', 'bf16', 'i32', 'u8', 'i8'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

const BYTES: Record<DType, number> = { f32: 4, f64: 8, f16: 2, bf16: 2, i32: 4, u8: 1, i8: 1 };

/** Size of one element in bytes. */
export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f64' || dtype === 'f16' || dtype === 'bf16';
}

export function assertDType(dtype: string): asserts dtype is DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`unknown dtype '${dtype}'; valid dtypes: ${DTYPES.join(', ')}`);
  }
}

/** Allocates the typed array that stores `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(size);
    case 'f64': return new Float64Array(size);
    case 'f16': case 'bf16': return new Uint16Array(size);
    case 'i32': return new Int32Array(size);
    case 'u8': return new Uint8Array(size);
    case 'i8': return new Int8Array(size);
  }
}

/** Whether `arr` is the storage array type of `dtype`. */
export function arrayMatchesDType(arr: TypedArray, dtype: DType): boolean {
  switch (dtype) {
    case 'f32': return arr instanceof Float32Array;
    case 'f64': return arr instanceof Float64Array;
    case 'f16': case 'bf16': return arr instanceof Uint16Array;
    case 'i32': return arr instanceof Int32Array;
    case 'u8': return arr instanceof Uint8Array;
    case 'i8': return arr instanceof Int8Array;
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Rounds an f32 value to bf16 bits (round to nearest even; NaN stays NaN). */
export function f32ToBf16Bits(v: number): number {
  f32Scratch[0] = v;
  const bits = u32Scratch[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounding = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + rounding) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0]!;
}

/** Rounds a number to IEEE half bits (round to nearest even, with subnormals and overflow to Inf). */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Decodes stored elements to plain numbers (f16/bf16 bit patterns become their float values). */
export function toFloat32(arr: TypedArray, dtype: DType): Float32Array {
  if (dtype === 'f16' || dtype === 'bf16') {
    const out = new Float32Array(arr.length);
    const decode = dtype === 'f16' ? f16BitsToF32 : bf16BitsToF32;
    for (let i = 0; i < arr.length; i++) out[i] = decode(arr[i]!);
    return out;
  }
  return arr instanceof Float32Array ? arr : Float32Array.from(arr as ArrayLike<number>);
}

/** Encodes plain numbers into the storage array of `dtype` (rounding/truncating as the dtype requires). */
export function fromNumbers(values: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, values.length);
  if (dtype === 'f16' || dtype === 'bf16') {
    const encode = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
    for (let i = 0; i < values.length; i++) out[i] = encode(values[i]!);
  } else {
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  }
  return out;
}
