/**
 * Writing the safetensors format byte-for-byte as the reference implementation
 * (the Rust crate behind Python `safetensors`) does:
 *
 * - tensors sorted by dtype in descending order of the crate's `Dtype` enum
 *   (F64, F32, I32, BF16, F16, I8, U8 for the dtypes written here), then by
 *   name in UTF-8 byte order; data laid out in that order with no gaps, so
 *   every tensor is aligned to its element size;
 * - compact JSON header: `__metadata__` first (when given; keys sorted here —
 *   the crate uses a hash map, so its order is arbitrary), then the tensors in
 *   layout order, each as `{"dtype":…,"shape":[…],"data_offsets":[b,e]}`;
 * - the header padded with spaces to a multiple of 8 bytes, so the data
 *   section starts 8-byte aligned.
 */
import { ShapeError, formatShape } from '../errors.js';
import { arrayMatchesDType, type DType, type TypedArray } from '../tensor/dtype.js';
import { littleEndianBytes, safeElementCount } from './elements.js';

/** A tensor held in host memory: the storage array type of `dtype`, row-major. */
export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** f16/bf16 as raw bit patterns (Uint16Array). */
  readonly data: TypedArray;
}

/** What the layout needs to know about a tensor. */
export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** The safetensors dtype name written for each core dtype. */
export const SAFETENSORS_WRITE_DTYPES: Readonly<Record<DType, string>> = Object.freeze({
  f64: 'F64', f32: 'F32', i32: 'I32', bf16: 'BF16', f16: 'F16', i8: 'I8', u8: 'U8',
});

/** Position of each written dtype in the reference crate's `Dtype` enum (only the order matters). */
const DTYPE_RANK: Readonly<Record<DType, number>> = { u8: 4, i8: 5, f16: 13, bf16: 14, i32: 15, f32: 17, f64: 19 };

const ITEMSIZE: Readonly<Record<DType, number>> = { f64: 8, f32: 4, i32: 4, bf16: 2, f16: 2, i8: 1, u8: 1 };

/** Where one tensor goes in the file. */
export interface PlannedTensor<T extends TensorSpec = TensorSpec> {
  readonly name: string;
  readonly tensor: T;
  /** `[begin, end)` relative to the data section. */
  readonly dataOffsets: readonly [number, number];
}

/** The complete layout of a file before any tensor data is read. */
export interface SafetensorsPlan<T extends TensorSpec = TensorSpec> {
  /** The 8-byte length prefix followed by the padded JSON header. */
  readonly head: Uint8Array;
  /** Tensors in layout order. */
  readonly tensors: readonly PlannedTensor<T>[];
  /** Size of the data section in bytes. */
  readonly dataLength: number;
  /** Size of the whole file in bytes. */
  readonly fileLength: number;
}

/** Compares strings by Unicode code point, which is UTF-8 byte order (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (code points ≥ 0x10000) above the rest of the BMP. */
function fixup(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkText(what: string, s: string): void {
  if (LONE_SURROGATE.test(s)) throw new Error(`safetensors: ${what} ${JSON.stringify(s)} contains a lone UTF-16 surrogate and cannot be written as UTF-8`);
}

/** Normalises the accepted tensor collections to [name, tensor] pairs. */
export function tensorEntries<T>(tensors: Map<string, T> | Record<string, T> | Iterable<readonly [string, T]>): [string, T][] {
  if (tensors instanceof Map) return [...tensors];
  if (Symbol.iterator in Object(tensors)) return [...(tensors as Iterable<readonly [string, T]>)].map(([k, v]) => [k, v]);
  return Object.entries(tensors as Record<string, T>);
}

/**
 * Computes the layout and header bytes of a safetensors file.
 * Throws on a reserved or duplicate name, an unknown dtype, an invalid shape,
 * or metadata that is not string → string.
 */
export function planSafetensors<T extends TensorSpec>(tensors: readonly (readonly [string, T])[], metadata?: Record<string, string>): SafetensorsPlan<T> {
  const seen = new Set<string>();
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error(`safetensors: '__metadata__' is reserved and cannot name a tensor`);
    if (seen.has(name)) throw new Error(`safetensors: tensor '${name}' is given twice`);
    seen.add(name);
    checkText('tensor name', name);
    if (!(t.dtype in SAFETENSORS_WRITE_DTYPES)) throw new Error(`safetensors: tensor '${name}' has unknown dtype '${t.dtype}'`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || safeElementCount(t.shape) < 0) {
      throw new ShapeError(`safetensors: tensor '${name}' has an invalid shape ${formatShape(t.shape)}`);
    }
  }
  const ordered = [...tensors].sort(([an, a], [bn, b]) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareCodePoints(an, bn));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareCodePoints);
    const fields = keys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new Error(`safetensors: metadata must map strings to strings; key ${JSON.stringify(k)} holds ${typeof v}`);
      checkText('metadata key', k);
      checkText('metadata value', v);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${fields.join(',')}}`);
  }
  let offset = 0;
  const planned: PlannedTensor<T>[] = [];
  for (const [name, tensor] of ordered) {
    const end = offset + safeElementCount(tensor.shape) * ITEMSIZE[tensor.dtype];
    if (!Number.isSafeInteger(end)) throw new Error(`safetensors: data of tensor '${name}' would end past 2^53 bytes`);
    const dataOffsets = [offset, end] as const;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${SAFETENSORS_WRITE_DTYPES[tensor.dtype]}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    planned.push({ name, tensor, dataOffsets });
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return { head, tensors: planned, dataLength: offset, fileLength: head.length + offset };
}

/** Checks that host data matches its declared dtype and shape, and returns its little-endian bytes. */
export function hostTensorBytes(name: string, t: HostTensor): Uint8Array {
  if (!arrayMatchesDType(t.data, t.dtype)) {
    throw new TypeError(`safetensors: tensor '${name}' is ${t.dtype} but its data is a ${t.data.constructor.name}`);
  }
  const count = safeElementCount(t.shape);
  if (t.data.length !== count) {
    throw new ShapeError(`safetensors: tensor '${name}' has ${t.data.length} elements but shape ${formatShape(t.shape)} holds ${count}`);
  }
  return littleEndianBytes(t.data);
}

/**
 * Serialises host tensors to a complete safetensors file in memory,
 * synchronously. For backend tensors use `serializeSafetensors`.
 */
export function encodeSafetensors(
  tensors: Map<string, HostTensor> | Record<string, HostTensor> | Iterable<readonly [string, HostTensor]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const plan = planSafetensors(tensorEntries(tensors), metadata);
  const out = new Uint8Array(plan.fileLength);
  out.set(plan.head, 0);
  for (const p of plan.tensors) out.set(hostTensorBytes(p.name, p.tensor), plan.head.length + p.dataOffsets[0]);
  return out;
}
