import { bytesPerElement, registerKernel, type KernelArgs, type Storage, type View } from '@adapterkit/core';
import { CUDA_BACKEND_NAME, type CudaBackend, type Dim3 } from './backend.js';
import { PRELUDE } from './kernels/prelude.js';
import { CudaParams } from './params.js';

/** One kernel launch of a call. */
export interface CudaLaunch {
  /** Function to launch; default: the kernel's `entry`. */
  entry?: string;
  grid: Dim3;
  block: Dim3;
  /** Dynamic shared memory in bytes. */
  sharedBytes?: number;
  /** The parameter block, in the order of the entry's signature. */
  params: CudaParams;
}

/** What `launch` gets besides the kernel arguments. */
export interface CudaCall {
  readonly backend: CudaBackend;
  /** A new parameter block. */
  params(): CudaParams;
  /** Device address of a view's first element, or of a storage. */
  ptr(v: View | Storage): number;
  /** Number of elements of a view. */
  size(v: View): number;
  /** Blocks for a grid-stride loop over n elements with `block` threads. */
  blocks(n: number, block?: number): number;
  /** Device address of the status words (see status-flags.ts), for kernels that validate on the GPU. */
  readonly statusPtr: number;
}

/**
 * A kernel given as CUDA C source. The source is compiled by NVRTC for the
 * device the first time a variant is used and cached (in memory, and on disk
 * under ~/.cache/adapterkit/cuda), so plugins ship kernels with no native
 * build. The source must declare its entry points `extern "C" __global__`;
 * with `prelude` (default true) it may use the built-in helpers (u8/i32/u16
 * typedefs, f16/bf16 ↔ f32 conversions: see kernels/prelude.ts).
 */
export interface CudaSourceKernel<A = Record<string, unknown>> {
  /** The CUDA C source, or a function of a variant name returning the source of that specialisation. */
  source: string | ((variant: string) => string);
  /** Which variant a call needs (e.g. its dtype); default: the one variant ''. */
  variant?: (args: KernelArgs<A>) => string;
  /** Name of the `extern "C" __global__` function launched when a launch names none. */
  entry: string;
  /** Grid, block and parameters of the launch(es) for one call; null or [] for nothing to do. */
  launch: (args: KernelArgs<A>, call: CudaCall) => CudaLaunch | readonly CudaLaunch[] | null;
  /** Prepend the built-in prelude (default true). */
  prelude?: boolean;
}

/** The call helpers for one backend. */
export function callOf(backend: CudaBackend): CudaCall {
  return {
    backend,
    params: () => new CudaParams(),
    ptr: (v) => backend.ptr(v),
    size: (v) => v.shape.reduce((p, d) => p * d, 1),
    blocks: (n, block = 256) => Math.max(1, Math.min(Math.ceil(n / block), 65536)),
    statusPtr: backend.statusPtr,
  };
}

/** Runs a source kernel's call on a backend (compiles its variant on first use). */
export function runSourceKernel<A>(name: string, def: CudaSourceKernel<A>, backend: CudaBackend, args: KernelArgs<A>): void {
  const variant = def.variant ? def.variant(args) : '';
  const plan = def.launch(args, callOf(backend));
  if (!plan) return;
  const launches = Array.isArray(plan) ? plan : [plan as CudaLaunch];
  const code = (): string => {
    const body = typeof def.source === 'string' ? def.source : def.source(variant);
    return def.prelude === false ? body : `${PRELUDE}\n${body}`;
  };
  for (const l of launches) {
    const fn = backend.fn(`plugin:${name}:${variant}`, code, l.entry ?? def.entry);
    backend.launch(fn, l.grid, l.block, l.params, l.sharedBytes ?? 0);
  }
}

/**
 * Registers a kernel for the 'cuda' backend from CUDA C source (the CUDA
 * counterpart of registering TS kernels for 'cpu' or WGSL for 'webgpu').
 *
 * ```ts
 * registerCudaSourceKernel('scale', {
 *   source: `extern "C" __global__ void scale(float* y, const float* x, long long n, float a) {
 *     long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
 *     if (i < n) y[i] = a * x[i];
 *   }`,
 *   entry: 'scale',
 *   launch: ({ inputs: [x], outputs: [y], attrs }, k) => {
 *     const n = k.size(y);
 *     return { grid: Math.ceil(n / 256), block: 256, params: k.params().ptr(k.ptr(y)).ptr(k.ptr(x)).i64(n).f32(attrs.a) };
 *   },
 * });
 * ```
 */
export function registerCudaSourceKernel<A = Record<string, unknown>>(name: string, def: CudaSourceKernel<A>): void {
  registerKernel<CudaBackend>(name, CUDA_BACKEND_NAME, (backend, args) => runSourceKernel(name, def, backend, args as KernelArgs<A>));
}

/** Bytes of a view's elements (contiguous views). */
export function viewBytes(v: View): number {
  return v.shape.reduce((p, d) => p * d, 1) * bytesPerElement(v.dtype);
}
