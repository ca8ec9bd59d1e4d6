import type { DType, TypedArray } from '../tensor/dtype.js';

/**
 * A block of device memory owned by one backend. Core reference-counts it:
 * several tensors (views, tensors saved for backward) may share one storage,
 * and the backend frees it when the count drops to zero.
 */
export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Backend-specific handle (a typed array on CPU, a GPUBuffer on WebGPU, a device pointer on CUDA). */
  readonly handle: unknown;
  /** Live references; managed by core. */
  refs: number;
}

/**
 * How a kernel sees a tensor: storage plus a strided layout. Elementwise
 * kernels accept any strides (stride 0 expresses broadcasting); all other
 * kernels receive contiguous views (core makes them so). See primitives.ts.
 */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Live device memory of a backend. */
export interface MemoryInfo {
  /** Bytes currently allocated for tensors (excluding pooled/cached free blocks). */
  liveBytes: number;
  /** Number of live storages. */
  liveBuffers: number;
  /** Bytes held by the backend's pool or cache beyond live ones, if it pools. */
  pooledBytes?: number;
}

/**
 * What a backend implements besides kernels: memory. Kernels are registered
 * separately with `registerKernel(name, backendName, impl)` so plugins can add
 * kernels to any backend.
 */
export interface Backend {
  /** Name used with `setBackend` and the kernel registry, e.g. 'cpu-ref'. */
  readonly name: string;
  /** Whether tensors of this dtype can be stored here. */
  supportsDType(dtype: DType): boolean;
  /** Allocates uninitialised storage for `size` elements (refs = 0; core retains it). */
  alloc(dtype: DType, size: number): Storage;
  /** Releases storage; called by core when its reference count reaches zero. */
  free(storage: Storage): void;
  /** Copies host data (the storage array type of the dtype) into storage, starting at element `offset`. */
  write(storage: Storage, data: TypedArray, offset?: number): void;
  /** Reads all elements back to the host. */
  read(storage: Storage): Promise<TypedArray>;
  /** Synchronous read, only where the backend can honour it (CPU). */
  readSync?(storage: Storage): TypedArray;
  /** Live memory counters. */
  memory(): MemoryInfo;
  /** Waits for queued work to finish (GPU backends). */
  sync?(): Promise<void>;
}

/** Arguments every kernel receives. Outputs are allocated by core, contiguous unless stated. */
export interface KernelArgs<A = Record<string, unknown>> {
  inputs: View[];
  outputs: View[];
  attrs: A;
}

/** A kernel implementation for one backend. */
export type KernelImpl<B extends Backend = Backend, A = any> = (backend: B, args: KernelArgs<A>) => void;
