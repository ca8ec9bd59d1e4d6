import {
  allocArray, bytesPerElement, checkWrite, liveStorage, markFreed, ownStorage,
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

/** Options of the fast CPU backend. */
export interface FastCpuBackendOptions {
  /** Registry name (default 'cpu'); kernels are looked up under it. */
  name?: string;
  /**
   * Bytes of freed arrays kept for reuse (default 256 MiB, or
   * ADAPTERKIT_CPU_POOL_MB). A fresh large typed array costs page faults and
   * zeroing (~1 ms per 4 MB), more than most kernels on it; 0 disables the pool.
   */
  poolBytes?: number;
  /** Fill reused arrays with a poison value (NaN / 0xA5) so kernels that rely on zeroed memory fail (tests). Default: ADAPTERKIT_CPU_POOL_POISON=1. */
  poison?: boolean;
}

/** Arrays smaller than this are not pooled: V8 allocates them quickly. */
const POOL_MIN_BYTES = 16 * 1024;

function envNumber(name: string): number | undefined {
  const v = typeof process !== 'undefined' ? process.env[name] : undefined;
  return v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
}

/**
 * The fast CPU backend ('cpu'). Memory is the same as the reference backend's
 * (plain typed arrays, every dtype, synchronous reads), so the reference TS
 * kernels run on it unchanged and the native kernels take the arrays
 * zero-copy. Freed arrays of 16 KiB and more are pooled by (dtype, size) and
 * handed out again uninitialised, as the Backend contract allows. Kernels are
 * registered by `registerFastCpuBackend()`.
 */
export class FastCpuBackend implements Backend {
  readonly name: string;
  private liveBytes = 0;
  private liveBuffers = 0;
  /** Freed arrays by "dtype:size"; Map order is least recently freed first. */
  private readonly pool = new Map<string, TypedArray[]>();
  private pooledBytes = 0;
  private readonly poolLimit: number;
  private readonly poison: boolean;

  constructor(opts: FastCpuBackendOptions = {}) {
    this.name = opts.name ?? FAST_CPU_BACKEND_NAME;
    const mb = envNumber('ADAPTERKIT_CPU_POOL_MB');
    this.poolLimit = Math.max(0, opts.poolBytes ?? (mb !== undefined ? mb * 1024 * 1024 : 256 * 1024 * 1024));
    this.poison = opts.poison ?? (typeof process !== 'undefined' && process.env.ADAPTERKIT_CPU_POOL_POISON === '1');
  }

  supportsDType(_dtype: DType): boolean {
    return true;
  }

  alloc(dtype: DType, size: number): Storage {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${this.name}: cannot allocate ${size} elements of ${dtype}`);
    const bytes = size * bytesPerElement(dtype);
    const storage = new FastCpuStorage(this, dtype, size, this.take(dtype, size, bytes) ?? allocArray(dtype, size));
    this.liveBytes += bytes;
    this.liveBuffers++;
    return storage;
  }

  free(storage: Storage): void {
    const s = ownStorage(this, FastCpuStorage, storage, 'free');
    markFreed(this, s);
    const bytes = s.size * bytesPerElement(s.dtype);
    this.liveBytes -= bytes;
    this.liveBuffers--;
    this.give(s.dtype, s.handle, bytes);
    // Drop the array from the storage: a stale kernel call then fails the
    // addon's bounds check instead of touching memory now owned by the pool.
    s.handle = allocArray(s.dtype, 0);
  }

  /** Drops every pooled array (they are garbage collected as usual). */
  releasePooled(): void {
    this.pool.clear();
    this.pooledBytes = 0;
  }

  private take(dtype: DType, size: number, bytes: number): TypedArray | undefined {
    if (bytes < POOL_MIN_BYTES) return undefined;
    const key = `${dtype}:${size}`;
    const list = this.pool.get(key);
    const arr = list?.pop();
    if (!arr) return undefined;
    if (list!.length === 0) this.pool.delete(key);
    this.pooledBytes -= bytes;
    if (this.poison) arr.fill(arr instanceof Float32Array || arr instanceof Float64Array ? NaN : 0xa5);
    return arr;
  }

  private give(dtype: DType, arr: TypedArray, bytes: number): void {
    if (bytes < POOL_MIN_BYTES || bytes > this.poolLimit) return;
    const key = `${dtype}:${arr.length}`;
    const list = this.pool.get(key) ?? [];
    this.pool.delete(key); // re-insert: most recently freed last
    list.push(arr);
    this.pool.set(key, list);
    this.pooledBytes += bytes;
    // Over the limit: drop the least recently freed sizes first.
    for (const [k, l] of this.pool) {
      if (this.pooledBytes <= this.poolLimit) break;
      const b = bytesPerElement(k.slice(0, k.indexOf(':')) as DType) * Number(k.slice(k.indexOf(':') + 1));
      while (l.length && this.pooledBytes > this.poolLimit) {
        l.shift();
        this.pooledBytes -= b;
      }
      if (!l.length) this.pool.delete(k);
    }
  }

  write(storage: Storage, data: TypedArray, offset = 0): void {
    const s = liveStorage(this, FastCpuStorage, storage, 'write');
    checkWrite(this, s, data, offset);
    s.handle.set(data, offset);
  }

  async read(storage: Storage): Promise<TypedArray> {
    return this.readSync(storage);
  }

  readSync(storage: Storage): TypedArray {
    return liveStorage(this, FastCpuStorage, storage, 'read').handle.slice();
  }

  memory(): MemoryInfo {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers, pooledBytes: this.pooledBytes };
  }
}
