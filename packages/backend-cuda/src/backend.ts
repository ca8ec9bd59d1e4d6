import {
  bytesPerElement,
  checkWrite,
  liveStorage,
  markFreed,
  ownStorage,
  type Backend,
  type DType,
  type MemoryInfo,
  type Storage,
  type TypedArray,
  type View,
} from '@adapterkit/core';
import type { NativeContext, NativeDeviceInfo } from './addon.js';
import { CachingAllocator, formatBytes, type AllocatorStats, type Block } from './allocator.js';
import type { NvrtcCompiler } from './compiler.js';
import { CUDA_DTYPES } from './kernels/prelude.js';
import type { CudaParams } from './params.js';
import { STATUS_BYTES, checkStatusWords } from './status-flags.js';

/** Name the backend registers under. */
export const CUDA_BACKEND_NAME = 'cuda';

/** A CUDA storage: `handle` is the device address (a JS number). */
export class CudaStorage implements Storage {
  refs = 0;
  freed = false;
  constructor(
    readonly backend: CudaBackend,
    readonly dtype: DType,
    readonly size: number,
    readonly handle: number,
    readonly block: Block,
  ) {}
}

/** Memory counters beyond `memory()`: the allocator's and the device's. */
export interface CudaMemoryStats extends AllocatorStats {
  liveBytes: number;
  liveBuffers: number;
  peakLiveBytes: number;
  /** cudaMemGetInfo: free and total device memory. */
  deviceFree: number;
  deviceTotal: number;
}

export type Dim3 = number | readonly [number, number?, number?];

const SUPPORTED: ReadonlySet<DType> = new Set(CUDA_DTYPES);
/** Watchdog period while a read is pending: a stream error rejects the read instead of leaving it pending forever. */
const WATCHDOG_MS = 100;

/**
 * The CUDA backend: device memory from a caching allocator, one stream on
 * which every kernel, copy and cuBLAS call is queued in call order, pinned
 * staging for host transfers, and asynchronous reads. Kernels are CUDA C
 * compiled at run time by NVRTC (see compiler.ts and source-kernel.ts) plus
 * cuBLAS for matmul. Dtypes: f32, f16, bf16, i32, u8, i8 (no f64).
 */
export class CudaBackend implements Backend {
  readonly name = CUDA_BACKEND_NAME;
  readonly info: NativeDeviceInfo;
  readonly allocator: CachingAllocator;
  /** Device address of the status words (status-flags.ts). */
  readonly statusPtr: number;

  private readonly modules = new Map<string, Map<string, number>>();
  private readonly moduleIndex = new Map<string, number>();
  private liveBytes = 0;
  private liveBuffers = 0;
  private peakLive = 0;
  private destroyed = false;
  private readonly pollReads: boolean;
  private polling = false;

  /** Whether f32 matmuls may use TF32 (see setTf32). */
  tf32 = false;

  constructor(
    readonly ctx: NativeContext,
    readonly compiler: NvrtcCompiler,
  ) {
    this.info = ctx.info();
    this.pollReads = this.info.pollReads;
    this.allocator = new CachingAllocator(
      (bytes) => ctx.malloc(bytes),
      (ptr) => ctx.free(ptr),
      () => {
        const d = ctx.memGetInfo();
        return `device: ${formatBytes(d.free)} free of ${formatBytes(d.total)} (${this.info.name})`;
      },
    );
    this.statusPtr = this.allocator.acquire(STATUS_BYTES).ptr;
    ctx.memset(this.statusPtr, 0, STATUS_BYTES / 4, 4);
  }

  supportsDType(dtype: DType): boolean {
    return SUPPORTED.has(dtype);
  }

  alloc(dtype: DType, size: number): Storage {
    this.checkAlive();
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${this.name}: cannot allocate ${size} elements of ${dtype}`);
    if (!this.supportsDType(dtype)) throw new Error(`${this.name}: dtype ${dtype} is not supported (supported: ${[...SUPPORTED].join(', ')})`);
    const bytes = size * bytesPerElement(dtype);
    const block = this.allocator.acquire(bytes);
    this.liveBytes += bytes;
    this.liveBuffers++;
    this.peakLive = Math.max(this.peakLive, this.liveBytes);
    return new CudaStorage(this, dtype, size, block.ptr, block);
  }

  free(storage: Storage): void {
    const s = ownStorage(this, CudaStorage, storage, 'free');
    markFreed(this, s);
    this.liveBytes -= s.size * bytesPerElement(s.dtype);
    this.liveBuffers--;
    if (!this.destroyed) this.allocator.give(s.block);
  }

  write(storage: Storage, data: TypedArray, offset = 0): void {
    const s = this.liveOf(storage, 'write');
    checkWrite(this, s, data, offset);
    if (data.length === 0) return;
    this.ctx.write(s.handle + offset * bytesPerElement(s.dtype), data);
  }

  async read(storage: Storage): Promise<TypedArray> {
    const s = this.liveOf(storage, 'read');
    const bytes = s.size * bytesPerElement(s.dtype);
    const buf = await this.settle(this.ctx.read(s.handle, bytes, this.statusPtr));
    checkStatusWords(this.name, buf, bytes);
    return typedArrayOf(s.dtype, buf, s.size);
  }

  /** Blocks the JS thread until the stream has caught up (prefer `await tensor.data()`). */
  readSync(storage: Storage): TypedArray {
    const s = this.liveOf(storage, 'readSync');
    const bytes = s.size * bytesPerElement(s.dtype);
    const buf = this.ctx.readBlocking(s.handle, bytes, this.statusPtr);
    checkStatusWords(this.name, buf, bytes);
    return typedArrayOf(s.dtype, buf, s.size);
  }

  memory(): MemoryInfo {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers, pooledBytes: this.allocator.stats().cachedBytes };
  }

  /** Allocator, live and device counters (peaks since creation or resetPeakMemory). */
  memoryStats(): CudaMemoryStats {
    const d = this.ctx.memGetInfo();
    return { ...this.allocator.stats(), liveBytes: this.liveBytes, liveBuffers: this.liveBuffers, peakLiveBytes: this.peakLive, deviceFree: d.free, deviceTotal: d.total };
  }

  resetPeakMemory(): void {
    this.peakLive = this.liveBytes;
    this.allocator.resetPeaks();
  }

  /** Returns cached free blocks to the device. */
  emptyCache(): void {
    this.allocator.emptyCache();
  }

  /** Resolves once all queued work has run; rejects if a kernel flagged an error (status-flags.ts) or the stream failed. */
  async sync(): Promise<void> {
    this.checkAlive();
    const buf = await this.settle(this.ctx.read(0, 0, this.statusPtr));
    checkStatusWords(this.name, buf, 0);
  }

  /** Waits for the stream on the JS thread. */
  syncBlocking(): void {
    this.checkAlive();
    this.ctx.syncBlocking();
  }

  /** Lets f32 matmuls use TF32 tensor cores (about 1e-3 relative error) or not (the default). */
  setTf32(enabled: boolean): void {
    this.tf32 = enabled;
    this.ctx.setMathMode(enabled);
  }

  /** Waits for queued work, then releases the stream, cuBLAS, modules and every cached block. Live storages become invalid. */
  destroy(): void {
    if (this.destroyed) return;
    this.ctx.syncBlocking();
    this.allocator.emptyCache();
    this.ctx.destroy();
    this.destroyed = true;
  }

  // ---------------------------------------------------------------- kernel API

  /** Device address of a view's first element (storage base + offset), or of a storage. */
  ptr(v: View | Storage): number {
    if ('storage' in v) {
      const s = this.liveOf(v.storage, 'kernel');
      return s.handle + v.offset * bytesPerElement(s.dtype);
    }
    return this.liveOf(v, 'kernel').handle;
  }

  /**
   * The function `entry` of the module compiled from `source()`; `key` names
   * the source uniquely (e.g. 'unary:exp:f32:r1:n'), so the source is built
   * and compiled at most once per key (NVRTC results are also cached on disk).
   */
  fn(key: string, source: () => string, entry: string): number {
    let fns = this.modules.get(key);
    if (!fns) {
      this.checkAlive();
      const compiled = this.compiler.compile(key.replace(/[^A-Za-z0-9_.-]/g, '_'), source());
      this.moduleIndex.set(key, this.ctx.loadModule(compiled.image));
      this.modules.set(key, (fns = new Map()));
    }
    let f = fns.get(entry);
    if (f === undefined) {
      f = this.ctx.getFunction(this.moduleIndex.get(key)!, entry);
      fns.set(entry, f);
    }
    return f;
  }

  /** Queues a kernel launch on the stream. */
  launch(fn: number, grid: Dim3, block: Dim3, params: CudaParams, sharedBytes = 0): void {
    const [gx, gy = 1, gz = 1] = typeof grid === 'number' ? [grid] : grid;
    const [bx, by = 1, bz = 1] = typeof block === 'number' ? [block] : block;
    if (gx === 0 || gy === 0 || gz === 0) return;
    this.ctx.launch(fn, gx, gy, gz, bx, by, bz, sharedBytes, params.bytes());
  }

  /** Scratch device memory for a kernel's intermediates (not a live storage); give it back with releaseScratch. */
  scratch(bytes: number): Block {
    return this.allocator.acquire(bytes);
  }

  releaseScratch(block: Block): void {
    this.allocator.give(block);
  }

  /** Number of compiled modules (one per source variant used). */
  get moduleCount(): number {
    return this.modules.size;
  }

  // ---------------------------------------------------------------- internals

  /** Awaits a native read, polling it (poll mode) and watching the stream for errors. */
  private async settle(p: Promise<ArrayBuffer>): Promise<ArrayBuffer> {
    if (this.pollReads) this.startPolling();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      const tick = (): void => {
        const err = this.ctx.streamError();
        if (err) reject(new Error(`${this.name}: ${err} (a kernel failed; the CUDA context cannot be used any more)`));
        else timer = setTimeout(tick, WATCHDOG_MS);
      };
      timer = setTimeout(tick, WATCHDOG_MS);
    });
    try {
      return await Promise.race([p, watchdog]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Poll mode: completes finished reads from timers, spinning on setImmediate for the first 2 ms, then every millisecond. */
  private startPolling(): void {
    if (this.polling) return;
    this.polling = true;
    const t0 = performance.now();
    const tick = (): void => {
      if (this.ctx.poll() === 0) {
        this.polling = false;
        return;
      }
      if (performance.now() - t0 < 2) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    setImmediate(tick);
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error(`${this.name}: the backend was destroyed`);
  }

  private liveOf(storage: Storage, what: string): CudaStorage {
    const s = liveStorage(this, CudaStorage, storage, what);
    this.checkAlive();
    return s;
  }

}

function typedArrayOf(dtype: DType, buf: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(buf, 0, size);
    case 'i32': return new Int32Array(buf, 0, size);
    case 'f16': case 'bf16': return new Uint16Array(buf, 0, size);
    case 'u8': return new Uint8Array(buf, 0, size);
    case 'i8': return new Int8Array(buf, 0, size);
    default: throw new Error(`cuda: dtype ${dtype} is not supported`);
  }
}
