/**
 * Reading GGUF files (llama.cpp's format), versions 2 and 3, little-endian:
 *
 * ```
 * magic 'GGUF' | u32 version | u64 tensor_count | u64 metadata_kv_count
 * metadata_kv_count × (string key, u32 value type, value)
 * tensor_count × (string name, u32 n_dims, n_dims × u64 dim, u32 ggml type, u64 offset)
 * padding to `general.alignment` (default 32) | data section
 * ```
 *
 * Strings are a u64 byte length and UTF-8 bytes. Dims are stored innermost
 * first (ggml's `ne[0]` is the contiguous axis); `shape` reverses them into
 * the usual row-major order. Tensor offsets are relative to the data section
 * and must be multiples of the alignment.
 *
 * Only unquantized tensor types are decoded (see {@link GGUF_SUPPORTED_TYPES});
 * {@link parseGgufHeader} still reads metadata and tensor infos of any file.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { HOST_LITTLE_ENDIAN, decodeElements, safeElementCount, type ElementCodec } from './elements.js';
import { BUFFER_SOURCE, ModelFileError } from './errors.js';
import { disposeAll, fromHostTensor, type LoadOptions } from './host-tensor.js';
import { nodeModules, pathString } from './node-fs.js';

/** Alignment of tensor data when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types, by their numeric code. */
export const GGUF_VALUE_TYPES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64'] as const;

/** ggml tensor type names by number (as in ggml.h; retired numbers are absent). */
export const GGML_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1',
  10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K',
  16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
});

/** ggml types this reader decodes, and the core dtype each becomes (I16 widens, I64 narrows with a range check). */
export const GGUF_SUPPORTED_TYPES: Readonly<Record<number, ElementCodec>> = Object.freeze({
  0: { itemsize: 4, dtype: 'f32' },
  1: { itemsize: 2, dtype: 'f16' },
  30: { itemsize: 2, dtype: 'bf16' },
  28: { itemsize: 8, dtype: 'f64' },
  24: { itemsize: 1, dtype: 'i8' },
  25: { itemsize: 2, dtype: 'i32', convert: 'i16' },
  26: { itemsize: 4, dtype: 'i32' },
  27: { itemsize: 8, dtype: 'i32', convert: 'i64' },
} satisfies Record<number, ElementCodec>);

/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Nesting limit for array values (a guard against hostile files). */
const MAX_ARRAY_DEPTH = 16;

/** Name of a ggml type number, e.g. `'Q4_K'`, or `'unknown'`. */
export function ggmlTypeName(type: number): string {
  return GGML_TYPE_NAMES[type] ?? 'unknown';
}

/** A tensor as the file describes it. */
export interface GgufTensorInfo {
  readonly name: string;
  /** Dimensions as stored: innermost (contiguous) first. */
  readonly dims: readonly number[];
  /** Row-major shape: `dims` reversed. */
  readonly shape: readonly number[];
  /** ggml type number. */
  readonly ggmlType: number;
  readonly typeName: string;
  /** Byte offset relative to the data section. */
  readonly offset: number;
}

/** Metadata and tensor infos of a GGUF file. */
export interface GgufHeader {
  readonly source: string;
  readonly version: number;
  /**
   * Metadata values: numbers (64-bit integers as number when safe, else
   * bigint), booleans, strings; arrays of numbers as typed arrays
   * (Float32Array, Int32Array, BigInt64Array, …), arrays of strings, booleans
   * or arrays as plain arrays.
   */
  readonly metadata: Record<string, unknown>;
  /** The GGUF value type name of each metadata key, e.g. `'UINT32'`, `'ARRAY[STRING]'`. */
  readonly metadataTypes: Record<string, string>;
  readonly alignment: number;
  /** Tensor infos in file order. */
  readonly tensorInfos: readonly GgufTensorInfo[];
  /** Absolute byte offset of the data section. */
  readonly dataOffset: number;
}

/** A decodable tensor of a parsed GGUF buffer. `data` is decoded on first access and then kept. */
export interface GgufTensorEntry extends GgufTensorInfo {
  readonly dtype: DType;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Elements in row-major order (f16/bf16 as raw bits); a view on the buffer when aligned and no conversion is needed. */
  readonly data: TypedArray;
}

/** Result of {@link parseGguf}. */
export interface ParsedGguf {
  readonly version: number;
  readonly metadata: Record<string, unknown>;
  readonly metadataTypes: Record<string, string>;
  readonly alignment: number;
  readonly tensors: Map<string, GgufTensorEntry>;
}

type Fail = (detail: string, tensor?: string) => never;

const FIXED_SIZE: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

type NumArrayCtor = new (buffer: ArrayBuffer) => ArrayLike<unknown>;
const ARRAY_CTORS: Readonly<Record<number, NumArrayCtor>> = {
  0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array, 6: Float32Array,
  10: BigUint64Array, 11: BigInt64Array, 12: Float64Array,
};

class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(readonly bytes: Uint8Array, readonly fail: Fail) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number, what: string): void {
    const left = this.bytes.length - this.pos;
    if (n > left) this.fail(`file truncated: ${what} at byte ${this.pos} needs ${n} bytes but only ${left} remain (file is ${this.bytes.length} bytes)`);
  }

  private take(n: number, what: string): number {
    this.need(n, what);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  /** A u64 that must fit a JS number (counts, lengths, dims, offsets). */
  size(what: string): number {
    const v = this.view.getBigUint64(this.take(8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, beyond what this reader can address (corrupt file?)`);
    return Number(v);
  }

  string(what: string): string {
    const len = this.size(`length of ${what}`);
    const at = this.take(len, what);
    return this.decoder.decode(this.bytes.subarray(at, at + len));
  }

  scalar(type: number, what: string): unknown {
    const at = this.take(FIXED_SIZE[type]!, what);
    const v = this.view;
    switch (type) {
      case 0: return v.getUint8(at);
      case 1: return v.getInt8(at);
      case 2: return v.getUint16(at, true);
      case 3: return v.getInt16(at, true);
      case 4: return v.getUint32(at, true);
      case 5: return v.getInt32(at, true);
      case 6: return v.getFloat32(at, true);
      case 7: return v.getUint8(at) !== 0;
      case 10: return narrow(v.getBigUint64(at, true));
      case 11: return narrow(v.getBigInt64(at, true));
      default: return v.getFloat64(at, true);
    }
  }

  /** A fresh typed array of `n` fixed-size elements. */
  numbers(type: number, n: number, what: string): ArrayLike<unknown> {
    const size = FIXED_SIZE[type]!;
    const at = this.take(n * size, what);
    const buf = new Uint8Array(n * size);
    buf.set(this.bytes.subarray(at, at + n * size));
    const out = new ARRAY_CTORS[type]!(buf.buffer);
    if (!HOST_LITTLE_ENDIAN && size > 1) {
      const back = this.pos;
      this.pos = at;
      const arr = out as unknown as Record<number, unknown>;
      for (let i = 0; i < n; i++) arr[i] = this.scalar(type, what);
      this.pos = back;
    }
    return out;
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function typeName(type: number): string {
  return GGUF_VALUE_TYPES[type] ?? `unknown(${type})`;
}

function readValue(c: Cursor, type: number, what: string, depth: number): { value: unknown; type: string } {
  if (type in FIXED_SIZE) return { value: c.scalar(type, what), type: typeName(type) };
  if (type === 8) return { value: c.string(what), type: 'STRING' };
  if (type !== 9) c.fail(`${what} has unknown value type ${type} (known: 0-12, ${GGUF_VALUE_TYPES.join(', ')})`);
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`${what} nests arrays more than ${MAX_ARRAY_DEPTH} deep`);
  const elemType = c.u32(`element type of ${what}`);
  const n = c.size(`element count of ${what}`);
  const minSize = FIXED_SIZE[elemType] ?? (elemType === 8 ? 8 : elemType === 9 ? 12 : undefined);
  if (minSize === undefined) c.fail(`${what} is an array of unknown value type ${elemType}`);
  c.need(n * minSize, `${what} (${n} elements)`);
  if (elemType in ARRAY_CTORS) return { value: c.numbers(elemType, n, what), type: `ARRAY[${typeName(elemType)}]` };
  const out = new Array<unknown>(n);
  let inner = typeName(elemType);
  for (let i = 0; i < n; i++) {
    const r = readValue(c, elemType, `${what}[${i}]`, depth + 1);
    out[i] = r.value;
    inner = r.type;
  }
  return { value: out, type: `ARRAY[${inner}]` };
}

function readVersion(c: Cursor): number {
  c.need(8, 'magic and version');
  const magic = String.fromCharCode(...c.bytes.subarray(0, 4));
  if (magic !== 'GGUF') {
    c.fail(`bad magic ${JSON.stringify(magic)} (bytes ${[...c.bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}); a GGUF file starts with 'GGUF'`);
  }
  c.pos = 4;
  const version = c.u32('version');
  const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
  if (version > 0xffff && swapped >= 1 && swapped <= 3) c.fail(`big-endian GGUF (version ${swapped}) is not supported`);
  if (version === 1) c.fail('GGUF version 1 is not supported (versions 2 and 3 are)');
  if (version !== 2 && version !== 3) c.fail(`unknown GGUF version ${version} (versions 2 and 3 are supported)`);
  return version;
}

/**
 * Parses the metadata and tensor infos of a GGUF file. `bytes` needs to hold
 * only the header (through the tensor infos); tensor data is not touched and
 * tensors of any ggml type are listed.
 */
export function parseGgufHeader(bytes: Uint8Array, source: string = BUFFER_SOURCE): GgufHeader {
  const fail: Fail = (detail, tensor) => {
    throw new ModelFileError('gguf', source, detail, tensor);
  };
  const c = new Cursor(bytes, fail);
  const version = readVersion(c);
  const tensorCount = c.size('tensor_count');
  const kvCount = c.size('metadata_kv_count');
  // Each key/value takes at least 13 bytes and each tensor info 24: reject absurd counts before looping.
  c.need(kvCount * 13 + tensorCount * 24, `${kvCount} metadata entries and ${tensorCount} tensor infos`);

  const metadata: Record<string, unknown> = {};
  const metadataTypes: Record<string, string> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`key of metadata entry ${i}`);
    if (Object.prototype.hasOwnProperty.call(metadata, key)) fail(`metadata key '${key}' appears twice`);
    const type = c.u32(`value type of '${key}'`);
    const { value, type: t } = readValue(c, type, `value of '${key}'`, 0);
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    metadataTypes[key] = t;
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if ('general.alignment' in metadata) {
    const a = metadata['general.alignment'];
    if (typeof a !== 'number' || !Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) {
      fail(`general.alignment must be a positive power of two, got ${String(a)}`);
    }
    alignment = a;
  }

  const tensorInfos: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`name of tensor info ${i}`);
    if (names.has(name)) fail('tensor name appears twice', name);
    names.add(name);
    const nDims = c.u32(`n_dims of tensor '${name}'`);
    if (nDims > MAX_DIMS) fail(`n_dims is ${nDims}; ggml tensors have at most ${MAX_DIMS}`, name);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size(`dimension ${d} of tensor '${name}'`));
    const ggmlType = c.u32(`type of tensor '${name}'`);
    const offset = c.size(`offset of tensor '${name}'`);
    tensorInfos.push(Object.freeze({
      name,
      dims: Object.freeze(dims),
      shape: Object.freeze([...dims].reverse()),
      ggmlType,
      typeName: ggmlTypeName(ggmlType),
      offset,
    }));
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  return { source, version, metadata, metadataTypes, alignment, tensorInfos, dataOffset };
}

class LazyTensor implements GgufTensorEntry {
  readonly name: string;
  readonly dims: readonly number[];
  readonly shape: readonly number[];
  readonly ggmlType: number;
  readonly typeName: string;
  readonly offset: number;
  readonly dtype: DType;
  private decoded: TypedArray | undefined;

  constructor(
    info: GgufTensorInfo,
    private readonly codec: ElementCodec,
    readonly byteOffset: number,
    readonly byteLength: number,
    private readonly bytes: Uint8Array,
    private readonly fail: Fail,
    private readonly copy: boolean,
  ) {
    this.name = info.name;
    this.dims = info.dims;
    this.shape = info.shape;
    this.ggmlType = info.ggmlType;
    this.typeName = info.typeName;
    this.offset = info.offset;
    this.dtype = codec.dtype;
  }

  get data(): TypedArray {
    this.decoded ??= decodeElements(this.bytes, this.byteOffset, this.byteLength / this.codec.itemsize, this.codec, (d) => this.fail(d, this.name), this.copy);
    return this.decoded;
  }
}

function supportedList(): string {
  return Object.keys(GGUF_SUPPORTED_TYPES).map((t) => `${ggmlTypeName(Number(t))} (${t})`).join(', ');
}

/**
 * Parses a whole GGUF file held in memory: metadata, and tensors with lazily
 * decoded data. Every tensor must have a supported type (an error names the
 * tensor, its type number and name, and the supported types), an aligned
 * offset, and data inside the file not overlapping another tensor's.
 *
 * @param source label for error messages (e.g. the file name).
 */
export function parseGguf(bytes: Uint8Array, source: string = BUFFER_SOURCE, options: { copy?: boolean } = {}): ParsedGguf {
  const header = parseGgufHeader(bytes, source);
  const fail: Fail = (detail, tensor) => {
    throw new ModelFileError('gguf', source, detail, tensor);
  };
  const entries: LazyTensor[] = [];
  for (const info of header.tensorInfos) {
    const codec = GGUF_SUPPORTED_TYPES[info.ggmlType];
    if (!codec) fail(`ggml type ${info.ggmlType} (${info.typeName}) is not supported; supported types: ${supportedList()}`, info.name);
    if (info.offset % header.alignment !== 0) fail(`offset ${info.offset} is not a multiple of the alignment ${header.alignment}`, info.name);
    const count = safeElementCount(info.shape);
    const byteLength = count * codec.itemsize;
    const start = header.dataOffset + info.offset;
    if (count < 0 || !Number.isSafeInteger(start + byteLength)) fail(`shape [${info.shape.join(', ')}] is too large`, info.name);
    if (start + byteLength > bytes.length) {
      fail(`data at bytes [${start}, ${start + byteLength}) runs past the end of the file (${bytes.length} bytes); file truncated?`, info.name);
    }
    entries.push(new LazyTensor(info, codec, start, byteLength, bytes, fail, options.copy ?? false));
  }
  const byStart = [...entries].sort((a, b) => a.byteOffset - b.byteOffset);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!;
    const cur = byStart[i]!;
    if (cur.byteLength > 0 && cur.byteOffset < prev.byteOffset + prev.byteLength) {
      fail(`data at offset ${cur.offset} overlaps tensor '${prev.name}' (offset ${prev.offset}, ${prev.byteLength} bytes)`, cur.name);
    }
  }
  return {
    version: header.version,
    metadata: header.metadata,
    metadataTypes: header.metadataTypes,
    alignment: header.alignment,
    tensors: new Map(entries.map((e) => [e.name, e])),
  };
}

/** Reads a GGUF file into memory and parses it (host data, no backend needed). */
export async function readGgufFile(path: string | URL): Promise<ParsedGguf> {
  const { fs } = await nodeModules();
  const p = await pathString(path);
  const bytes = await fs.readFile(p);
  return parseGguf(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), p);
}

/** A GGUF file loaded into backend tensors. */
export interface LoadedGguf {
  readonly version: number;
  readonly metadata: Record<string, unknown>;
  /** Tensors by name (GGUF names, e.g. `token_embd.weight`), row-major shapes. */
  readonly tensors: Map<string, Tensor>;
}

/** Loads a GGUF file: metadata plus every tensor as a backend tensor. */
export async function loadGguf(path: string | URL, options: LoadOptions = {}): Promise<LoadedGguf> {
  const parsed = await readGgufFile(path);
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, entry] of parsed.tensors) tensors.set(name, fromHostTensor(name, entry, options));
  } catch (e) {
    disposeAll(tensors.values());
    throw e;
  }
  return { version: parsed.version, metadata: parsed.metadata, tensors };
}
