/** A device allocation handed out by the caching allocator. */
export interface Block {
  /** Device address (0 for empty blocks). */
  readonly ptr: number;
  /** Bytes reserved: the size class, ≥ the request. */
  readonly size: number;
}

export interface AllocatorStats {
  /** Bytes in blocks handed out (size classes, not requests). */
  allocatedBytes: number;
  /** Bytes in free blocks kept for reuse. */
  cachedBytes: number;
  /** allocatedBytes + cachedBytes: what the allocator holds from the device. */
  reservedBytes: number;
  peakAllocatedBytes: number;
  peakReservedBytes: number;
  /** cudaMalloc calls so far (a warm training loop makes none). */
  mallocs: number;
}

/** Thrown when the device cannot satisfy an allocation even after the cache was emptied. */
export class CudaOutOfMemoryError extends RangeError {
  override name = 'CudaOutOfMemoryError';
}

const SMALL = 1 << 20;

/**
 * Caching device allocator. Requests are rounded to a size class — multiples
 * of 512 bytes up to 1 MiB, then four classes per power of two (≤ 25% waste)
 * — and freed blocks wait in their class for the next request of that class,
 * so a training loop stops calling cudaMalloc/cudaFree (which synchronise)
 * after its first step. Reuse needs no events: the backend has one stream, so
 * every later use of a recycled block is queued after the work that used it.
 * When cudaMalloc fails, every cached block is freed and the request retried.
 */
export class CachingAllocator {
  private readonly free = new Map<number, number[]>();
  private allocated = 0;
  private cached = 0;
  private peakAllocated = 0;
  private peakReserved = 0;
  private mallocs = 0;

  constructor(
    private readonly malloc: (bytes: number) => number | null,
    private readonly release: (ptr: number) => void,
    private readonly describe: () => string = () => '',
  ) {}

  /** The size class serving a request of `bytes`. */
  static sizeClass(bytes: number): number {
    if (bytes <= 0) return 0;
    if (bytes <= SMALL) return Math.ceil(bytes / 512) * 512;
    const p = 2 ** Math.floor(Math.log2(bytes));
    const step = p / 4;
    return Math.ceil(bytes / step) * step;
  }

  acquire(bytes: number): Block {
    const size = CachingAllocator.sizeClass(bytes);
    if (size === 0) return { ptr: 0, size: 0 };
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.cached -= size;
    } else {
      ptr = this.deviceMalloc(size, bytes);
    }
    this.allocated += size;
    this.peakAllocated = Math.max(this.peakAllocated, this.allocated);
    this.peakReserved = Math.max(this.peakReserved, this.allocated + this.cached);
    return { ptr, size };
  }

  /** Returns a block to its class (kept for reuse until emptyCache). */
  give(block: Block): void {
    if (block.size === 0) return;
    this.allocated -= block.size;
    let list = this.free.get(block.size);
    if (!list) this.free.set(block.size, (list = []));
    list.push(block.ptr);
    this.cached += block.size;
  }

  /** Frees every cached block back to the device (cudaFree waits for the device). */
  emptyCache(): void {
    for (const list of this.free.values()) for (const p of list) this.release(p);
    this.free.clear();
    this.cached = 0;
  }

  resetPeaks(): void {
    this.peakAllocated = this.allocated;
    this.peakReserved = this.allocated + this.cached;
  }

  stats(): AllocatorStats {
    return {
      allocatedBytes: this.allocated,
      cachedBytes: this.cached,
      reservedBytes: this.allocated + this.cached,
      peakAllocatedBytes: this.peakAllocated,
      peakReservedBytes: this.peakReserved,
      mallocs: this.mallocs,
    };
  }

  private deviceMalloc(size: number, requested: number): number {
    this.mallocs++;
    let ptr = this.malloc(size);
    if (ptr === null && this.cached > 0) {
      this.emptyCache();
      ptr = this.malloc(size);
    }
    if (ptr === null) {
      const extra = this.describe();
      throw new CudaOutOfMemoryError(
        `cuda: out of memory allocating ${formatBytes(requested)} (size class ${formatBytes(size)}); ` +
          `${formatBytes(this.allocated)} allocated by adapterkit${extra ? `; ${extra}` : ''}`,
      );
    }
    return ptr;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}
