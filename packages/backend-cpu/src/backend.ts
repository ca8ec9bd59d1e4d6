import {
  allocArray, arrayMatchesDType, bytesPerElement,
  type Backend, type DType, type MemoryInfo, type Storage, type TypedArray,
} from '@adapterkit/core';

/** Name the fast CPU backend registers under. */
export const FAST_CPU_BACKEND_NAME = 'cpu';

/** A storage of the fast CPU backend: the handle is the dtype's typed array on the JS heap (f16/bf16 as Uint16Array bits). */
class FastCpuStorage implements Storage {
  refs = 0;
  /** Set by free(); lets free() and host transfers detect use after free. */
  freed = false;
  constructor(
    readonly backend: FastCpuBackend,
    readonly dtype: DType,
    readonly size: number,
    public handle: TypedArray,
  ) {}
}

/**
 * The fast CPU backend ('cpu'). Memory is the same as the reference backend's
 * (plain typed arrays, every dtype, synchronous reads), so the reference TS
 * kernels run on it unchanged and the native kernels take the arrays
 * zero-copy. Kernels are registered by `registerFastCpuBackend()`.
 */
export class FastCpuBackend implements Backend {
  readonly name: string = FAST_CPU_BACKEND_NAME;
  private liveBytes = 0;
  private liveBuffers = 0;

  supportsDType(_dtype: DType): boolean {
    return true;
  }

  alloc(dtype: DType, size: number): Storage {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${this.name}: cannot allocate ${size} elements of ${dtype}`);
    const storage = new FastCpuStorage(this, dtype, size, allocArray(dtype, size));
    this.liveBytes += size * bytesPerElement(dtype);
    this.liveBuffers++;
    return storage;
  }

  free(storage: Storage): void {
    const s = this.own(storage, 'free');
    if (s.freed) throw new Error(`${this.name}: storage of ${s.size} ${s.dtype} elements was freed twice`);
    s.freed = true;
    this.liveBytes -= s.size * bytesPerElement(s.dtype);
    this.liveBuffers--;
    // Drop the array so memory is reclaimed even if the storage object lingers;
    // a stale kernel call then fails the addon's bounds check instead of reading old data.
    s.handle = allocArray(s.dtype, 0);
  }

  write(storage: Storage, data: TypedArray, offset = 0): void {
    const s = this.live(storage, 'write');
    if (!arrayMatchesDType(data, s.dtype)) {
      throw new TypeError(`${this.name}: write of a ${data.constructor.name} into ${s.dtype} storage; encode it with fromNumbers(values, '${s.dtype}')`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > s.size) {
      throw new RangeError(`${this.name}: write of ${data.length} elements at offset ${offset} overruns storage of ${s.size}`);
    }
    s.handle.set(data, offset);
  }

  async read(storage: Storage): Promise<TypedArray> {
    return this.readSync(storage);
  }

  readSync(storage: Storage): TypedArray {
    return this.live(storage, 'read').handle.slice();
  }

  memory(): MemoryInfo {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers };
  }

  private own(storage: Storage, what: string): FastCpuStorage {
    if (!(storage instanceof FastCpuStorage) || storage.backend !== this) {
      throw new Error(`${this.name}: ${what} of a storage that belongs to backend '${storage.backend.name}'`);
    }
    return storage;
  }

  private live(storage: Storage, what: string): FastCpuStorage {
    const s = this.own(storage, what);
    if (s.freed) throw new Error(`${this.name}: ${what} of a freed storage`);
    return s;
  }
}
