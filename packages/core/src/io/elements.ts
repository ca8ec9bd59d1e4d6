import type { DType, TypedArray } from '../tensor/dtype.js';

/**
 * How the elements of a tensor stored in a file map to a core dtype. Both
 * formats read here store little-endian elements; f16/bf16 stay raw 16-bit
 * patterns (the core's storage type for them).
 */
export interface ElementCodec {
  /** Bytes per stored element. */
  readonly itemsize: number;
  /** Core dtype the elements decode to. */
  readonly dtype: DType;
  /**
   * Integer conversion on the way in: `i16`/`u16` widen to i32; `u32`, `i64`
   * and `u64` narrow to i32 and fail on a value that does not fit.
   */
  readonly convert?: 'i16' | 'u16' | 'u32' | 'i64' | 'u64';
}

/** True on little-endian hosts (all current JS engines in practice). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type ArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedArray;

const CTORS: Record<DType, ArrayCtor> = {
  f32: Float32Array,
  f64: Float64Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i32: Int32Array,
  u8: Uint8Array,
  i8: Int8Array,
};

/** Called with a message when elements cannot be decoded; must throw. */
export type Fail = (detail: string) => never;

/**
 * Decodes `count` elements starting at `offset` in `bytes`. Without `copy`,
 * elements that need no conversion come back as a view on `bytes`'s buffer
 * when the address is aligned for the element type (no copy; the view aliases
 * the input); otherwise into a fresh, aligned array.
 */
export function decodeElements(bytes: Uint8Array, offset: number, count: number, codec: ElementCodec, fail: Fail, copy = false): TypedArray {
  const byteLength = count * codec.itemsize;
  if (offset < 0 || offset + byteLength > bytes.length) {
    fail(`elements at bytes [${offset}, ${offset + byteLength}) lie outside the ${bytes.length} bytes available`);
  }
  if (codec.convert) return convertInts(bytes, offset, count, codec.convert, fail);
  const Ctor = CTORS[codec.dtype];
  const at = bytes.byteOffset + offset;
  if (HOST_LITTLE_ENDIAN) {
    if (!copy && at % codec.itemsize === 0) return new Ctor(bytes.buffer, at, count);
    // Note: Buffer#slice is a view, so copy explicitly into a new buffer.
    const owned = new Uint8Array(byteLength);
    owned.set(bytes.subarray(offset, offset + byteLength));
    return new Ctor(owned.buffer, 0, count);
  }
  return decodeBigEndianHost(bytes, at, count, codec);
}

function decodeBigEndianHost(bytes: Uint8Array, at: number, count: number, codec: ElementCodec): TypedArray {
  const view = new DataView(bytes.buffer, at, count * codec.itemsize);
  const out = new CTORS[codec.dtype](new ArrayBuffer(count * codec.itemsize), 0, count);
  for (let i = 0; i < count; i++) {
    switch (codec.dtype) {
      case 'f32': out[i] = view.getFloat32(i * 4, true); break;
      case 'f64': out[i] = view.getFloat64(i * 8, true); break;
      case 'i32': out[i] = view.getInt32(i * 4, true); break;
      case 'f16': case 'bf16': out[i] = view.getUint16(i * 2, true); break;
      case 'u8': out[i] = view.getUint8(i); break;
      case 'i8': out[i] = view.getInt8(i); break;
    }
  }
  return out;
}

function convertInts(bytes: Uint8Array, offset: number, count: number, kind: NonNullable<ElementCodec['convert']>, fail: Fail): Int32Array {
  const size = kind === 'i16' || kind === 'u16' ? 2 : kind === 'u32' ? 4 : 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * size);
  const out = new Int32Array(count);
  const tooBig = (i: number, value: bigint | number): never =>
    fail(`${kind} value ${value} at element ${i} does not fit in i32 (range -2147483648 … 2147483647)`);
  for (let i = 0; i < count; i++) {
    switch (kind) {
      case 'i16': out[i] = view.getInt16(i * 2, true); break;
      case 'u16': out[i] = view.getUint16(i * 2, true); break;
      case 'u32': {
        const v = view.getUint32(i * 4, true);
        if (v > 0x7fffffff) tooBig(i, v);
        out[i] = v;
        break;
      }
      case 'i64': case 'u64': {
        const lo = view.getUint32(i * 8, true);
        const hi = view.getInt32(i * 8 + 4, true);
        const fits = kind === 'i64' ? (hi === 0 && lo <= 0x7fffffff) || (hi === -1 && lo >= 0x80000000) : hi === 0 && lo <= 0x7fffffff;
        if (!fits) tooBig(i, kind === 'i64' ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true));
        out[i] = lo | 0;
        break;
      }
    }
  }
  return out;
}

/**
 * The little-endian bytes of a typed array's elements: a view on little-endian
 * hosts, a byte-swapped copy otherwise.
 */
export function littleEndianBytes(arr: TypedArray): Uint8Array {
  if (HOST_LITTLE_ENDIAN || arr.BYTES_PER_ELEMENT === 1) return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  const out = new Uint8Array(arr.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < arr.length; i++) {
    if (arr instanceof Float32Array) view.setFloat32(i * 4, arr[i]!, true);
    else if (arr instanceof Float64Array) view.setFloat64(i * 8, arr[i]!, true);
    else if (arr instanceof Int32Array) view.setInt32(i * 4, arr[i]!, true);
    else view.setUint16(i * 2, arr[i]!, true);
  }
  return out;
}

/** Product of a shape's dimensions, or -1 when it exceeds Number.MAX_SAFE_INTEGER. */
export function safeElementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}
