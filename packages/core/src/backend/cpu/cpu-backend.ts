import { allocArray, bytesPerElement, type DType, type TypedArray } from '../../tensor/dtype.js';
import type { Backend, MemoryInfo, Storage } from '../backend.js';
import { registerBackend } from '../registry.js';
import { checkWrite, liveStorage, markFreed, ownStorage } from '../storage-checks.js';
import { CPU_BACKEND_NAME } from './common.js';
import { registerCpuKernels } from './kernels.js';

/** A CPU storage: the handle is the dtype's typed array (f16/bf16 as Uint16Array bit patterns). */
class CpuStorage implements Storage {
  refs = 0;
  /** Set by free(); lets free() and host transfers detect use after free. */
  freed = false;
  constructor(
    readonly backend: CpuBackend,
    readonly dtype: DType,
    readonly size: number,
    public handle: TypedArray,
  ) {}
}

/**
 * The reference CPU backend: plain typed arrays, every dtype (incl. f64 for
 * gradient checks), synchronous reads. Kernels live in the sibling files and
 * are registered by `registerCpuBackend()`.
 */
export class CpuBackend implements Backend {
  /** Kernels are looked up by this name: a second instance under another name needs its own registrations. */
  constructor(readonly name: string = CPU_BACKEND_NAME) {}
  private liveBytes = 0;
  private liveBuffers = 0;

  supportsDType(_dtype: DType): boolean {
    return true;
  }

  alloc(dtype: DType, size: number): Storage {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${this.name}: cannot allocate ${size} elements of ${dtype}`);
    const storage = new CpuStorage(this, dtype, size, allocArray(dtype, size));
    this.liveBytes += size * bytesPerElement(dtype);
    this.liveBuffers++;
    return storage;
  }

  free(storage: Storage): void {
    const s = ownStorage(this, CpuStorage, storage, 'free');
    markFreed(this, s);
    this.liveBytes -= s.size * bytesPerElement(s.dtype);
    this.liveBuffers--;
    // Drop the array so memory is reclaimed even if the storage object lingers;
    // a stale kernel read then yields undefined/NaN instead of old data.
    s.handle = allocArray(s.dtype, 0);
  }

  write(storage: Storage, data: TypedArray, offset = 0): void {
    const s = liveStorage(this, CpuStorage, storage, 'write');
    checkWrite(this, s, data, offset);
    s.handle.set(data, offset);
  }

  async read(storage: Storage): Promise<TypedArray> {
    return this.readSync(storage);
  }

  readSync(storage: Storage): TypedArray {
    return liveStorage(this, CpuStorage, storage, 'read').handle.slice();
  }

  memory(): MemoryInfo {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers };
  }
}

let registered = false;

/**
 * Registers the 'cpu-ref' backend factory and all its kernels. Idempotent, so
 * a later call does not replace kernels a plugin registered over ours.
 */
export function registerCpuBackend(): void {
  if (registered) return;
  registered = true;
  registerBackend(CPU_BACKEND_NAME, () => new CpuBackend());
  registerCpuKernels();
}
