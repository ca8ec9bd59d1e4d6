import type { Backend, KernelArgs, View } from '@adapterkit/core';
import { INV_127 } from '../formats/int8.js';
import type { Quant4Attrs, Quant8Attrs } from './contract.js';

/**
 * CUDA C sources of the quant kernels for the future 'cuda' backend
 * (backend-cuda compiles plugin sources with NVRTC at first use and caches
 * them by key). Nothing here can run without that backend: the sources are
 * checked by compiling them with a host C++ compiler against a small CUDA
 * emulation (scripts/check-cuda-sources.mts), not on a GPU.
 *
 * The contract a CUDA backend implements for plugin kernels:
 * `backend.launch({ key, source, entry, grid, block, args })` where each arg
 * is `{ view }` (the device pointer of the view's first element: storage
 * pointer + offset · element size), `{ u32 }`, `{ u64 }`, `{ i32 }` or `{ f32 }`, in the
 * kernel's parameter order. `registerCudaKernelSource` records every source
 * so the backend can also compile them ahead of time (`cudaKernelSources()`).
 *
 * Float math uses __fmul_rn / __fadd_rn for the dequantization so no FMA
 * contraction changes the dequantized values: they equal cpu-ref's bit for
 * bit; the dot products accumulate in f32 in tile order.
 */

/** One CUDA kernel argument. */
export type CudaArg = { view: View } | { u32: number } | { u64: number } | { i32: number } | { f32: number };

/** A launch request to a CUDA backend. */
export interface CudaLaunchSpec {
  /** Cache key of the compiled module (one per source). */
  key: string;
  source: string;
  /** extern "C" __global__ function name. */
  entry: string;
  grid: [number, number, number];
  block: [number, number, number];
  args: CudaArg[];
}

/** What a CUDA backend must provide for plugin kernels (structural, so this package needs no CUDA dependency). */
export interface CudaLaunchable extends Backend {
  launch(spec: CudaLaunchSpec): void;
}

/** A registered CUDA source: the module key, its source and its entry points. */
export interface CudaKernelSource {
  key: string;
  source: string;
  entries: readonly string[];
}

const sources = new Map<string, CudaKernelSource>();

/**
 * Records a CUDA C source under its module key (idempotent; a second
 * registration with the same key replaces the first), so a CUDA backend can
 * compile it with NVRTC before first use.
 */
export function registerCudaKernelSource(src: CudaKernelSource): void {
  sources.set(src.key, src);
}

/** All CUDA sources registered by plugins, by module key. */
export function cudaKernelSources(): ReadonlyMap<string, CudaKernelSource> {
  return sources;
}

const PRELUDE = `
#define QK_TILE 16
#define QK_BK 32
__device__ __forceinline__ unsigned int qk_min(unsigned int a, unsigned int b) { return a < b ? a : b; }
`;

/** 4-bit kernels: matmul, input-gradient matmul, dequantize. */
export const CUDA_QUANT4_SOURCE = `${PRELUDE}
extern "C" {

__device__ __forceinline__ float q4_scale(const void* absmax, const float* nabs, const float* ncode,
                                          unsigned int b, int nested, unsigned int nbs, float offset) {
  if (nested) {
    const unsigned char q = ((const unsigned char*)absmax)[b];
    return __fadd_rn(__fmul_rn(ncode[q], nabs[b / nbs]), offset);
  }
  return ((const float*)absmax)[b];
}

__device__ __forceinline__ float q4_at(const unsigned char* w, const void* absmax, const float* nabs, const float* code,
                                       const float* ncode, unsigned long long e, unsigned int bs, int nested,
                                       unsigned int nbs, float offset) {
  const unsigned char byte = w[e >> 1];
  const unsigned int nib = (e & 1ull) ? (byte & 15u) : (byte >> 4);
  return __fmul_rn(code[nib], q4_scale(absmax, nabs, ncode, (unsigned int)(e / bs), nested, nbs, offset));
}

// y[M, N] = x[M, K] . W^T ; grid (ceil(N/16), ceil(M/16)), block (16, 16).
__global__ void quant4_matmul(const float* __restrict__ x, const unsigned char* __restrict__ w, const void* __restrict__ absmax,
                              const float* __restrict__ nabs, const float* __restrict__ code, const float* __restrict__ ncode,
                              float* __restrict__ y, unsigned int M, unsigned int N, unsigned int K, unsigned int bs,
                              unsigned int nbs, float offset, int nested) {
  __shared__ float Xs[QK_TILE * QK_BK];
  __shared__ float Ws[QK_TILE * QK_BK];
  const unsigned int m0 = blockIdx.y * QK_TILE, n0 = blockIdx.x * QK_TILE;
  const unsigned int tx = threadIdx.x, ty = threadIdx.y, tid = ty * QK_TILE + tx;
  float acc = 0.0f;
  for (unsigned int k0 = 0; k0 < K; k0 += QK_BK) {
    for (unsigned int l = 0; l < 2; ++l) {
      const unsigned int e = tid + l * 256u, r = e / QK_BK, c = e % QK_BK, kk = k0 + c;
      Xs[e] = (m0 + r < M && kk < K) ? x[(unsigned long long)(m0 + r) * K + kk] : 0.0f;
      Ws[e] = (n0 + r < N && kk < K) ? q4_at(w, absmax, nabs, code, ncode, (unsigned long long)(n0 + r) * K + kk, bs, nested, nbs, offset) : 0.0f;
    }
    __syncthreads();
    for (unsigned int c = 0; c < QK_BK; ++c) acc += Xs[ty * QK_BK + c] * Ws[tx * QK_BK + c];
    __syncthreads();
  }
  if (m0 + ty < M && n0 + tx < N) y[(unsigned long long)(m0 + ty) * N + n0 + tx] = acc;
}

// dx[M, K] = dy[M, N] . W ; grid (ceil(K/16), ceil(M/16)), block (16, 16).
__global__ void quant4_matmul_backward(const float* __restrict__ dy, const unsigned char* __restrict__ w, const void* __restrict__ absmax,
                                       const float* __restrict__ nabs, const float* __restrict__ code, const float* __restrict__ ncode,
                                       float* __restrict__ dx, unsigned int M, unsigned int N, unsigned int K, unsigned int bs,
                                       unsigned int nbs, float offset, int nested) {
  __shared__ float Gs[QK_TILE * QK_BK];
  __shared__ float Ws[QK_BK * QK_TILE];
  const unsigned int m0 = blockIdx.y * QK_TILE, c0 = blockIdx.x * QK_TILE;
  const unsigned int tx = threadIdx.x, ty = threadIdx.y, tid = ty * QK_TILE + tx;
  float acc = 0.0f;
  for (unsigned int n0 = 0; n0 < N; n0 += QK_BK) {
    for (unsigned int l = 0; l < 2; ++l) {
      const unsigned int e = tid + l * 256u, r = e / QK_BK, c = e % QK_BK;
      Gs[e] = (m0 + r < M && n0 + c < N) ? dy[(unsigned long long)(m0 + r) * N + n0 + c] : 0.0f;
      const unsigned int wn = e / QK_TILE, wc = e % QK_TILE;
      Ws[e] = (n0 + wn < N && c0 + wc < K) ? q4_at(w, absmax, nabs, code, ncode, (unsigned long long)(n0 + wn) * K + c0 + wc, bs, nested, nbs, offset) : 0.0f;
    }
    __syncthreads();
    for (unsigned int c = 0; c < QK_BK; ++c) acc += Gs[ty * QK_BK + c] * Ws[c * QK_TILE + tx];
    __syncthreads();
  }
  if (m0 + ty < M && c0 + tx < K) dx[(unsigned long long)(m0 + ty) * K + c0 + tx] = acc;
}

// out[N * K] = W ; grid (ceil(N*K/256), 1), block (256, 1).
__global__ void quant4_dequantize(const unsigned char* __restrict__ w, const void* __restrict__ absmax, const float* __restrict__ nabs,
                                  const float* __restrict__ code, const float* __restrict__ ncode, float* __restrict__ out,
                                  unsigned long long total, unsigned int bs, unsigned int nbs, float offset, int nested) {
  const unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < total) out[e] = q4_at(w, absmax, nabs, code, ncode, e, bs, nested, nbs, offset);
}

} // extern "C"
`;

/** 8-bit kernels: W[r, c] = fround(fround(q · scb[r]) · fround(1/127)). */
export const CUDA_QUANT8_SOURCE = `${PRELUDE}
extern "C" {

__device__ __forceinline__ float q8_at(const signed char* w, const float* scb, unsigned long long e, unsigned int K) {
  return __fmul_rn(__fmul_rn((float)w[e], scb[e / K]), ${INV_127.toPrecision(9)}f);
}

__global__ void quant8_matmul(const float* __restrict__ x, const signed char* __restrict__ w, const float* __restrict__ scb,
                              float* __restrict__ y, unsigned int M, unsigned int N, unsigned int K) {
  __shared__ float Xs[QK_TILE * QK_BK];
  __shared__ float Ws[QK_TILE * QK_BK];
  const unsigned int m0 = blockIdx.y * QK_TILE, n0 = blockIdx.x * QK_TILE;
  const unsigned int tx = threadIdx.x, ty = threadIdx.y, tid = ty * QK_TILE + tx;
  float acc = 0.0f;
  for (unsigned int k0 = 0; k0 < K; k0 += QK_BK) {
    for (unsigned int l = 0; l < 2; ++l) {
      const unsigned int e = tid + l * 256u, r = e / QK_BK, c = e % QK_BK, kk = k0 + c;
      Xs[e] = (m0 + r < M && kk < K) ? x[(unsigned long long)(m0 + r) * K + kk] : 0.0f;
      Ws[e] = (n0 + r < N && kk < K) ? q8_at(w, scb, (unsigned long long)(n0 + r) * K + kk, K) : 0.0f;
    }
    __syncthreads();
    for (unsigned int c = 0; c < QK_BK; ++c) acc += Xs[ty * QK_BK + c] * Ws[tx * QK_BK + c];
    __syncthreads();
  }
  if (m0 + ty < M && n0 + tx < N) y[(unsigned long long)(m0 + ty) * N + n0 + tx] = acc;
}

__global__ void quant8_matmul_backward(const float* __restrict__ dy, const signed char* __restrict__ w, const float* __restrict__ scb,
                                       float* __restrict__ dx, unsigned int M, unsigned int N, unsigned int K) {
  __shared__ float Gs[QK_TILE * QK_BK];
  __shared__ float Ws[QK_BK * QK_TILE];
  const unsigned int m0 = blockIdx.y * QK_TILE, c0 = blockIdx.x * QK_TILE;
  const unsigned int tx = threadIdx.x, ty = threadIdx.y, tid = ty * QK_TILE + tx;
  float acc = 0.0f;
  for (unsigned int n0 = 0; n0 < N; n0 += QK_BK) {
    for (unsigned int l = 0; l < 2; ++l) {
      const unsigned int e = tid + l * 256u, r = e / QK_BK, c = e % QK_BK;
      Gs[e] = (m0 + r < M && n0 + c < N) ? dy[(unsigned long long)(m0 + r) * N + n0 + c] : 0.0f;
      const unsigned int wn = e / QK_TILE, wc = e % QK_TILE;
      Ws[e] = (n0 + wn < N && c0 + wc < K) ? q8_at(w, scb, (unsigned long long)(n0 + wn) * K + c0 + wc, K) : 0.0f;
    }
    __syncthreads();
    for (unsigned int c = 0; c < QK_BK; ++c) acc += Gs[ty * QK_BK + c] * Ws[c * QK_TILE + tx];
    __syncthreads();
  }
  if (m0 + ty < M && c0 + tx < K) dx[(unsigned long long)(m0 + ty) * K + c0 + tx] = acc;
}

__global__ void quant8_dequantize(const signed char* __restrict__ w, const float* __restrict__ scb, float* __restrict__ out,
                                  unsigned long long total, unsigned int K) {
  const unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < total) out[e] = q8_at(w, scb, e, K);
}

} // extern "C"
`;

export const CUDA_QUANT4_KEY = 'adapterkit-quant/quant4';
export const CUDA_QUANT8_KEY = 'adapterkit-quant/quant8';

function asCuda(b: Backend, kernel: string): CudaLaunchable {
  const c = b as Partial<CudaLaunchable>;
  if (typeof c.launch !== 'function') {
    throw new Error(`CUDA kernel '${kernel}': backend '${b.name}' has no launch(spec) for plugin CUDA sources (see @adapterkit/quant kernels/cuda.ts for the contract)`);
  }
  return c as CudaLaunchable;
}

function checkF32(kernel: string, views: View[]): void {
  for (const v of views) if (v.dtype !== 'f32') throw new Error(`CUDA kernel '${kernel}' supports f32 data only, got ${v.dtype}`);
}

const tiles = (a: number, b: number): [number, number, number] => [Math.max(1, Math.ceil(a / 16)), Math.max(1, Math.ceil(b / 16)), 1];
const linear = (total: number): [number, number, number] => [Math.max(1, Math.ceil(total / 256)), 1, 1];

function cuda4(mode: 'forward' | 'backward' | 'dequant', kernel: string) {
  return (b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant4Attrs>): void => {
    const [xv, wv, av, nav, cv, ncv] = inputs as [View, View, View, View, View, View];
    const yv = outputs[0]!;
    const { m, n, k } = attrs;
    if (n * k === 0 || (mode !== 'dequant' && m === 0)) return;
    const tail: CudaArg[] = [{ u32: attrs.blockSize }, { u32: attrs.nestedBlockSize }, { f32: Math.fround(attrs.offset) }, { i32: attrs.nested ? 1 : 0 }];
    const weight: CudaArg[] = [{ view: wv }, { view: av }, { view: nav }, { view: cv }, { view: ncv }];
    const gpu = asCuda(b, kernel);
    if (mode === 'dequant') {
      gpu.launch({ key: CUDA_QUANT4_KEY, source: CUDA_QUANT4_SOURCE, entry: 'quant4_dequantize', grid: linear(n * k), block: [256, 1, 1], args: [...weight, { view: yv }, { u64: n * k }, ...tail] });
      return;
    }
    checkF32(kernel, [xv, yv]);
    const entry = mode === 'forward' ? 'quant4_matmul' : 'quant4_matmul_backward';
    const grid = mode === 'forward' ? tiles(n, m) : tiles(k, m);
    gpu.launch({ key: CUDA_QUANT4_KEY, source: CUDA_QUANT4_SOURCE, entry, grid, block: [16, 16, 1], args: [{ view: xv }, ...weight, { view: yv }, { u32: m }, { u32: n }, { u32: k }, ...tail] });
  };
}

function cuda8(mode: 'forward' | 'backward' | 'dequant', kernel: string) {
  return (b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant8Attrs>): void => {
    const [xv, wv, sv] = inputs as [View, View, View];
    const yv = outputs[0]!;
    const { m, n, k } = attrs;
    if (n * k === 0 || (mode !== 'dequant' && m === 0)) return;
    const gpu = asCuda(b, kernel);
    if (mode === 'dequant') {
      gpu.launch({ key: CUDA_QUANT8_KEY, source: CUDA_QUANT8_SOURCE, entry: 'quant8_dequantize', grid: linear(n * k), block: [256, 1, 1], args: [{ view: wv }, { view: sv }, { view: yv }, { u64: n * k }, { u32: k }] });
      return;
    }
    checkF32(kernel, [xv, yv]);
    const entry = mode === 'forward' ? 'quant8_matmul' : 'quant8_matmul_backward';
    const grid = mode === 'forward' ? tiles(n, m) : tiles(k, m);
    gpu.launch({ key: CUDA_QUANT8_KEY, source: CUDA_QUANT8_SOURCE, entry, grid, block: [16, 16, 1], args: [{ view: xv }, { view: wv }, { view: sv }, { view: yv }, { u32: m }, { u32: n }, { u32: k }] });
  };
}

export const cudaQuantKernels = {
  quantMatmul4bit: cuda4('forward', 'quantMatmul4bit'),
  quantMatmul4bitBackward: cuda4('backward', 'quantMatmul4bitBackward'),
  quantDequantize4bit: cuda4('dequant', 'quantDequantize4bit'),
  quantMatmul8bit: cuda8('forward', 'quantMatmul8bit'),
  quantMatmul8bitBackward: cuda8('backward', 'quantMatmul8bitBackward'),
  quantDequantize8bit: cuda8('dequant', 'quantDequantize8bit'),
};
