/**
 * safetensors files and backend tensors: loading (header first, then one
 * tensor at a time, so peak host memory is about one tensor rather than the
 * file), serialising, and atomic saving.
 */
import type { FileHandle } from 'node:fs/promises';
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { littleEndianBytes } from './elements.js';
import { BUFFER_SOURCE, ModelFileError } from './errors.js';
import { disposeAll, fromHostTensor, isTensor, readRawElements, type LoadOptions } from './host-tensor.js';
import { nodeModules, pathString, readRange, writeAll, writeFileAtomic } from './node-fs.js';
import {
  decodeSafetensorsData,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors.js';
import { hostTensorBytes, planSafetensors, tensorEntries, type HostTensor, type PlannedTensor } from './safetensors-write.js';

/** Options for loading safetensors into backend tensors. */
export interface LoadSafetensorsOptions extends LoadOptions {
  /** Load only the tensors for which this returns true. */
  filter?: (name: string) => boolean;
}

/** A tensor to save: a backend tensor or host data. */
export type SaveableTensor = Tensor | HostTensor;

/** The collections of named tensors the writers accept. */
export type NamedTensors<T> = Map<string, T> | Record<string, T>;

/**
 * An open safetensors file: the header is read and validated on open; tensor
 * data is read on demand with `read(name)`. Call `close()` when done.
 */
export class SafetensorsFile {
  private constructor(
    /** The file's path (used in errors). */
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly fh: FileHandle,
  ) {}

  /** Opens `path` and validates its header against the file size. */
  static async open(path: string | URL): Promise<SafetensorsFile> {
    const { fs } = await nodeModules();
    const p = await pathString(path);
    const fh = await fs.open(p, 'r');
    try {
      const size = (await fh.stat()).size;
      const short = (got: number): never => {
        throw new ModelFileError('safetensors', p, `file shrank while reading its header (got ${got} bytes)`);
      };
      const n = readSafetensorsHeaderLength(await readRange(fh, 0, Math.min(8, size), short), size, p);
      const header = parseSafetensorsHeader(await readRange(fh, 0, 8 + n, short), size, p);
      return new SafetensorsFile(p, header, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The `__metadata__` map (empty when absent). */
  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor descriptions in file order. */
  get tensors(): Map<string, SafetensorsTensorInfo> {
    return this.header.tensors;
  }

  /** Reads and decodes one tensor's elements (a fresh array; f16/bf16 as bits). */
  async read(name: string): Promise<TypedArray> {
    const info = this.header.tensors.get(name);
    if (!info) throw new ModelFileError('safetensors', this.path, 'no such tensor in this file', name);
    const [begin, end] = info.dataOffsets;
    const bytes = await readRange(this.fh, this.header.dataStart + begin, end - begin, (got) => {
      throw new ModelFileError('safetensors', this.path, `file shrank while reading: got ${got} of ${end - begin} bytes`, name);
    });
    return decodeSafetensorsData(info, bytes, 0, this.path);
  }

  /** Reads one tensor as host data. */
  async readHost(name: string): Promise<HostTensor & { readonly fileDType: string }> {
    const info = this.header.tensors.get(name);
    const data = await this.read(name);
    return { dtype: info!.dtype, shape: info!.shape, data, fileDType: info!.fileDType };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens a safetensors file for inspection and on-demand reads. */
export function openSafetensors(path: string | URL): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path);
}

/** Creates backend tensors from an open file; disposes what it made on failure. */
export async function tensorsFromFile(file: SafetensorsFile, names: Iterable<string>, options: LoadOptions = {}, into = new Map<string, Tensor>()): Promise<Map<string, Tensor>> {
  const made: Tensor[] = [];
  try {
    for (const name of names) {
      const host = await file.readHost(name);
      const t = fromHostTensor(name, host, options);
      made.push(t);
      into.set(name, t);
    }
  } catch (e) {
    disposeAll(made);
    throw e;
  }
  return into;
}

/**
 * Loads a safetensors file into backend tensors (named after their keys), in
 * file order. I64/U64/U32 become i32 (range-checked), I16/U16 i32, BOOL u8.
 * Reads the header first and then one tensor at a time.
 */
export async function loadSafetensors(path: string | URL, options: LoadSafetensorsOptions = {}): Promise<Map<string, Tensor>> {
  const file = await openSafetensors(path);
  try {
    const names = [...file.tensors.keys()].filter((n) => options.filter?.(n) ?? true);
    return await tensorsFromFile(file, names, options);
  } finally {
    await file.close();
  }
}

/**
 * Loads safetensors bytes already in memory (e.g. fetched in a browser) into
 * backend tensors. `source` labels errors.
 */
export function loadSafetensorsFromBuffer(bytes: Uint8Array, options: LoadSafetensorsOptions & { source?: string } = {}): Map<string, Tensor> {
  const parsed = parseSafetensors(bytes, options.source ?? BUFFER_SOURCE);
  const out = new Map<string, Tensor>();
  try {
    for (const [name, entry] of parsed.tensors) {
      if (options.filter && !options.filter(name)) continue;
      out.set(name, fromHostTensor(name, entry, options));
    }
  } catch (e) {
    disposeAll(out.values());
    throw e;
  }
  return out;
}

function specOf(name: string, t: SaveableTensor): SaveableTensor & { dtype: DType } {
  if (typeof t !== 'object' || t === null || !('dtype' in t) || !('shape' in t)) {
    throw new TypeError(`safetensors: value for '${name}' is neither a Tensor nor {dtype, shape, data}`);
  }
  return t;
}

async function bytesOf(p: PlannedTensor<SaveableTensor>): Promise<Uint8Array> {
  const t = p.tensor;
  if (isTensor(t)) return littleEndianBytes(await readRawElements(t, p.name));
  return hostTensorBytes(p.name, t);
}

function plan(tensors: NamedTensors<SaveableTensor>, metadata?: Record<string, string>) {
  return planSafetensors(tensorEntries(tensors).map(([n, t]) => [n, specOf(n, t)] as const), metadata);
}

/**
 * Serialises tensors (backend tensors are read back; f16/bf16 bits are kept
 * exactly) into a safetensors file in memory, in the reference layout
 * (see safetensors-write.ts). Readable by Python `safetensors`.
 */
export async function serializeSafetensors(tensors: NamedTensors<SaveableTensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const layout = plan(tensors, metadata);
  const out = new Uint8Array(layout.fileLength);
  out.set(layout.head, 0);
  for (const p of layout.tensors) out.set(await bytesOf(p), layout.head.length + p.dataOffsets[0]);
  return out;
}

/**
 * Saves tensors as a safetensors file, atomically: the data goes to a
 * temporary file in the same directory (one tensor at a time), which is
 * fsynced and renamed over `path`. If anything fails — an invalid name,
 * dtype or metadata, a disposed tensor, an I/O error — the temporary file is
 * removed and an existing file at `path` is left as it was.
 */
export async function saveSafetensors(path: string | URL, tensors: NamedTensors<SaveableTensor>, metadata?: Record<string, string>): Promise<void> {
  const target = await pathString(path);
  const layout = plan(tensors, metadata);
  await writeFileAtomic(target, async (fh) => {
    await writeAll(fh, layout.head, 0);
    for (const p of layout.tensors) await writeAll(fh, await bytesOf(p), layout.head.length + p.dataOffsets[0]);
  });
}
