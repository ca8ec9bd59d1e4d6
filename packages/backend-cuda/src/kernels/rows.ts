import { DTypeError, type DType, type View } from '@adapterkit/core';

/**
 * Shared pieces of the row kernels (softmax, norms, cross-entropy): a block
 * of 256 threads works on RPB rows at once, TPR = 256 / RPB threads per row
 * (32 for rows up to 1024 columns, else 256). Reductions within a row group
 * go through shared memory; every thread of the block reaches every
 * __syncthreads (rows past the end take part with identity values), so the
 * loop over row groups is
 *   for (i64 rb = blockIdx.x; rb * rpb < rows; rb += gridDim.x) { i64 row = rb * rpb + threadIdx.x / tpr; bool active = row < rows; … }
 */
export const ROW_THREADS = 256;

export const ROW_HELPERS = String.raw`
#define ROW_THREADS 256
// Sum / NaN-propagating max over the TPR lanes of this thread's row group; every lane gets the result.
__device__ float group_sum(float v, float* sh, int lane, int base, int tpr) {
  sh[base + lane] = v;
  __syncthreads();
  for (int s = tpr / 2; s > 0; s >>= 1) {
    if (lane < s) sh[base + lane] += sh[base + lane + s];
    __syncthreads();
  }
  float r = sh[base];
  __syncthreads();
  return r;
}
__device__ float group_max(float v, float* sh, int lane, int base, int tpr) {
  sh[base + lane] = v;
  __syncthreads();
  for (int s = tpr / 2; s > 0; s >>= 1) {
    if (lane < s) { float b = sh[base + lane + s]; if (b > sh[base + lane] || b != b) sh[base + lane] = b; }
    __syncthreads();
  }
  float r = sh[base];
  __syncthreads();
  return r;
}
// This thread's lane in its row group and the group's first thread; rows per block.
#define ROW_LANES(tpr)                                                       \
  const int lane = threadIdx.x % (tpr), gbase = threadIdx.x - lane;         \
  const int rpb = ROW_THREADS / (tpr);
`;

/** Threads per row for rows of `cols` elements. */
export function threadsPerRow(cols: number): number {
  return cols <= 1024 ? 32 : ROW_THREADS;
}

/** Blocks for `rows` rows at `tpr` threads each (capped; the kernels loop). */
export function rowBlocks(rows: number, tpr: number): number {
  return Math.max(1, Math.min(Math.ceil(rows / (ROW_THREADS / tpr)), 65536));
}

/** Row kernels compute in f32 (f16/bf16 converted on load and store). */
export function checkFloat(kernel: string, views: readonly View[]): DType {
  const d = views[0]!.dtype;
  if (views.some((v) => v.dtype !== d)) throw new DTypeError(`cuda kernel '${kernel}': dtype mismatch (${views.map((v) => v.dtype).join(', ')})`);
  if (d !== 'f32' && d !== 'f16' && d !== 'bf16') throw new DTypeError(`cuda kernel '${kernel}' does not support dtype ${d}; supported: f32, f16, bf16`);
  return d;
}
