/**
 * Reading the safetensors format (https://github.com/huggingface/safetensors):
 *
 * ```
 * [u64 little-endian N][N bytes UTF-8 JSON header][data section]
 * ```
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}`
 * (byte offsets relative to the data section) plus an optional `__metadata__`
 * string→string map. Elements are little-endian, row-major.
 *
 * Validation follows the reference Rust crate (`SafeTensors::read_metadata` and
 * `Metadata::validate`): header length at most 100 MB and inside the file,
 * valid UTF-8 JSON object, known dtypes, integer shapes, `byte size ==
 * product(shape) * itemsize`, and — sorted by offset — the tensors must tile
 * the data section exactly: the first starts at 0, each starts where the
 * previous one ended (a gap or an overlap is the crate's `InvalidOffset`), and
 * the last ends at the end of the file (`MetadataIncompleteBuffer`). Zero-size
 * tensors (`[k, k]`) are allowed anywhere the tiling permits.
 *
 * Writing lives in safetensors-write.ts, file access in safetensors-file.ts.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import { decodeElements, safeElementCount, type ElementCodec } from './elements.js';
import { BUFFER_SOURCE, ModelFileError } from './errors.js';

/** The reference implementation's limit on the header length. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** Stored dtypes this reader decodes, and the core dtype each becomes. */
export const SAFETENSORS_READ_DTYPES: Readonly<Record<string, ElementCodec>> = Object.freeze({
  F64: { itemsize: 8, dtype: 'f64' },
  F32: { itemsize: 4, dtype: 'f32' },
  F16: { itemsize: 2, dtype: 'f16' },
  BF16: { itemsize: 2, dtype: 'bf16' },
  I64: { itemsize: 8, dtype: 'i32', convert: 'i64' },
  U64: { itemsize: 8, dtype: 'i32', convert: 'u64' },
  I32: { itemsize: 4, dtype: 'i32' },
  U32: { itemsize: 4, dtype: 'i32', convert: 'u32' },
  I16: { itemsize: 2, dtype: 'i32', convert: 'i16' },
  U16: { itemsize: 2, dtype: 'i32', convert: 'u16' },
  U8: { itemsize: 1, dtype: 'u8' },
  I8: { itemsize: 1, dtype: 'i8' },
  BOOL: { itemsize: 1, dtype: 'u8' },
} satisfies Record<string, ElementCodec>);

/** Dtypes the format defines that this reader cannot represent. */
const KNOWN_UNSUPPORTED = ['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64'];

/** One tensor as the header describes it. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  /** The dtype as stored in the file, e.g. `'I64'`. */
  readonly fileDType: string;
  /** The core dtype the data decodes to (I64 → i32, BOOL → u8, …). */
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** `[begin, end)` in bytes, relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
}

/** A validated header. */
export interface SafetensorsHeader {
  /** File path or buffer label used in errors. */
  readonly source: string;
  /** N, the JSON header's length in bytes (padding included). */
  readonly headerLength: number;
  /** Absolute byte offset of the data section (8 + N). */
  readonly dataStart: number;
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Whether the header had a `__metadata__` entry. */
  readonly hasMetadata: boolean;
  /** Tensors in file (data offset) order. */
  readonly tensors: Map<string, SafetensorsTensorInfo>;
}

/** A tensor of a parsed buffer. `data` is decoded on first access and then kept. */
export interface SafetensorsEntry extends SafetensorsTensorInfo {
  /**
   * The elements in the storage array type of `dtype` (f16/bf16 as raw bits).
   * A view on the parsed buffer when no conversion is needed and the address
   * is aligned (unless parsed with `copy: true`), an aligned copy otherwise.
   * Conversion errors (an I64 value outside i32) are thrown here.
   */
  readonly data: TypedArray;
}

/** Result of {@link parseSafetensors}. */
export interface ParsedSafetensors {
  readonly metadata: Record<string, string>;
  readonly tensors: Map<string, SafetensorsEntry>;
  readonly header: SafetensorsHeader;
}

export interface ParseSafetensorsOptions {
  /** Always copy tensor data instead of returning views on the input buffer. */
  copy?: boolean;
}

function fail(source: string, detail: string, tensor?: string): never {
  throw new ModelFileError('safetensors', source, detail, tensor);
}

/**
 * Reads and checks the 8-byte header length. `prefix` holds at least the first
 * `min(8, fileSize)` bytes of the file. Returns N.
 */
export function readSafetensorsHeaderLength(prefix: Uint8Array, fileSize: number, source: string = BUFFER_SOURCE): number {
  if (fileSize < 8) fail(source, `file is ${fileSize} bytes, shorter than the 8-byte header length that starts every safetensors file`);
  if (prefix.length < 8) fail(source, `only ${prefix.length} bytes given, the header length needs 8`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(source, `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt, or not a safetensors file)`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    fail(source, `header length ${len} runs past the end of the file (${fileSize} bytes, so at most ${fileSize - 8}); file truncated or not safetensors`);
  }
  return len;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegativeInts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

function parseEntry(source: string, name: string, raw: unknown): SafetensorsTensorInfo {
  if (!isPlainObject(raw)) fail(source, `header entry must be an object with dtype, shape and data_offsets, got ${describe(raw)}`, name);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') fail(source, `dtype must be a string, got ${describe(dtype)}`, name);
  const codec = SAFETENSORS_READ_DTYPES[dtype];
  if (!codec) {
    const supported = Object.keys(SAFETENSORS_READ_DTYPES).join(', ');
    if (KNOWN_UNSUPPORTED.includes(dtype)) fail(source, `dtype ${dtype} is not supported (supported: ${supported})`, name);
    fail(source, `unknown dtype ${JSON.stringify(dtype)} (supported: ${supported})`, name);
  }
  if (!nonNegativeInts(shape)) fail(source, `shape must be a list of non-negative integers, got ${JSON.stringify(shape) ?? 'nothing'}`, name);
  if (!nonNegativeInts(offsets) || offsets.length !== 2) {
    fail(source, `data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets) ?? 'nothing'}`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(source, `data_offsets [${begin}, ${end}] end before they begin`, name);
  const count = safeElementCount(shape);
  const bytes = count * codec.itemsize;
  if (count < 0 || !Number.isSafeInteger(bytes)) fail(source, `shape [${shape.join(', ')}] is too large`, name);
  if (bytes !== end - begin) {
    fail(source, `shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`, name);
  }
  return Object.freeze({ name, fileDType: dtype, dtype: codec.dtype, shape: Object.freeze([...shape]), dataOffsets: Object.freeze([begin, end] as [number, number]) });
}

/**
 * Parses and validates a safetensors header. `prefix` holds at least the
 * first `8 + N` bytes of the file (all of it is fine); `fileSize` is the size
 * of the whole file, against which offsets are checked. Throws a
 * {@link ModelFileError} naming `source` and the tensor on any violation.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number, source: string = BUFFER_SOURCE): SafetensorsHeader {
  const n = readSafetensorsHeaderLength(prefix, fileSize, source);
  if (prefix.length < 8 + n) fail(source, `only ${prefix.length} bytes given, the header needs ${8 + n}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) fail(source, `header must be a JSON object, got ${describe(json)}`);

  let metadata: Record<string, string> = {};
  const hasMetadata = Object.prototype.hasOwnProperty.call(json, '__metadata__');
  const infos: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === '__metadata__') {
      if (!isPlainObject(value)) fail(source, `__metadata__ must be an object mapping strings to strings, got ${describe(value)}`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') fail(source, `__metadata__ must map strings to strings; key ${JSON.stringify(k)} holds ${describe(v)}`);
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    infos.push(parseEntry(source, key, value));
  }

  const dataStart = 8 + n;
  const dataLength = fileSize - dataStart;
  infos.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  for (const info of infos) {
    const [begin, end] = info.dataOffsets;
    if (end > dataLength) {
      fail(
        source,
        `data_offsets [${begin}, ${end}] reach past the end of the ${dataLength}-byte data section ` +
          `(file is ${fileSize} bytes, this tensor needs ${dataStart + end}); file truncated?`,
        info.name,
      );
    }
  }
  let covered = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const info of infos) {
    const [begin, end] = info.dataOffsets;
    if (begin < covered) {
      fail(source, `data_offsets [${begin}, ${end}] overlap tensor '${previous!.name}' at [${previous!.dataOffsets.join(', ')}]`, info.name);
    }
    if (begin > covered) {
      fail(
        source,
        `data_offsets [${begin}, ${end}] leave bytes [${covered}, ${begin}) of the data section unused; ` +
          'tensors must cover the data section contiguously (the reference implementation rejects this as InvalidOffset)',
        info.name,
      );
    }
    covered = end;
    previous = info;
  }
  if (covered !== dataLength) {
    fail(
      source,
      `${dataLength - covered} bytes after the last tensor's data are unused (data section ${dataLength} bytes, tensors cover ${covered}); ` +
        'the reference implementation rejects this as MetadataIncompleteBuffer',
    );
  }
  return Object.freeze({
    source,
    headerLength: n,
    dataStart,
    metadata,
    hasMetadata,
    tensors: new Map(infos.map((i) => [i.name, i])),
  });
}

/**
 * Decodes one tensor's elements. `bytes` holds the tensor's data starting at
 * `offset` (for a whole-file buffer: `header.dataStart + info.dataOffsets[0]`).
 */
export function decodeSafetensorsData(info: SafetensorsTensorInfo, bytes: Uint8Array, offset: number, source: string = BUFFER_SOURCE, copy = false): TypedArray {
  const codec = SAFETENSORS_READ_DTYPES[info.fileDType]!;
  const count = (info.dataOffsets[1] - info.dataOffsets[0]) / codec.itemsize;
  return decodeElements(bytes, offset, count, codec, (detail) => fail(source, detail, info.name), copy);
}

class LazyEntry implements SafetensorsEntry {
  readonly name: string;
  readonly fileDType: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
  private decoded: TypedArray | undefined;

  constructor(info: SafetensorsTensorInfo, private readonly bytes: Uint8Array, private readonly header: SafetensorsHeader, private readonly copy: boolean) {
    this.name = info.name;
    this.fileDType = info.fileDType;
    this.dtype = info.dtype;
    this.shape = info.shape;
    this.dataOffsets = info.dataOffsets;
  }

  get data(): TypedArray {
    this.decoded ??= decodeSafetensorsData(this, this.bytes, this.header.dataStart + this.dataOffsets[0], this.header.source, this.copy);
    return this.decoded;
  }
}

/**
 * Parses a whole safetensors file held in memory. The header is validated
 * eagerly; each tensor's data is decoded lazily on first access of `data`
 * (so inspecting a large file costs only the header). Data views alias
 * `bytes` unless `options.copy` is set.
 *
 * @param source label for error messages (e.g. the file name).
 */
export function parseSafetensors(bytes: Uint8Array, source: string = BUFFER_SOURCE, options: ParseSafetensorsOptions = {}): ParsedSafetensors {
  const header = parseSafetensorsHeader(bytes, bytes.length, source);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const info of header.tensors.values()) tensors.set(info.name, new LazyEntry(info, bytes, header, options.copy ?? false));
  return { metadata: header.metadata, tensors, header };
}
