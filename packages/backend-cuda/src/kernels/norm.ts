import type { DType, KernelArgs, PrimitiveAttrs, View } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { PRELUDE, cudaType } from './prelude.js';
import { ROW_HELPERS, ROW_THREADS, checkFloat, rowBlocks, threadsPerRow } from './rows.js';

/**
 * LayerNorm and RMSNorm over the last axis of contiguous [rows, d] inputs.
 *
 * Forward: one row group per row; two passes (mean, then the centred
 * variance) like the reference. Backward: the row kernel computes dx; the
 * parameter gradients (sums over rows) are a column kernel — blocks of
 * 32 columns × 8 lanes over chunks of COL_CHUNK rows writing per-chunk
 * partial sums — and a finishing kernel that adds the chunks in order (in
 * double), so results are deterministic.
 */

const COL_CHUNK = 256;

function forwardSource(rms: boolean, dtype: DType): string {
  const t = cudaType(rms ? 'rmsNorm' : 'layerNorm', dtype);
  const T = t.ctype;
  const ld = (e: string): string => t.load(e);
  return `${PRELUDE}
${ROW_HELPERS}
extern "C" __global__ void fwd(${T}* __restrict__ y, ${rms ? '' : `${T}* __restrict__ meanOut, `}${T}* __restrict__ rstdOut,
    const ${T}* __restrict__ x, const ${T}* __restrict__ g, ${rms ? '' : `const ${T}* __restrict__ bta, `}i64 rows, i64 d, float eps, int tpr) {
  __shared__ float sh[ROW_THREADS];
  ROW_LANES(tpr)
  for (i64 rb = blockIdx.x; rb * rpb < rows; rb += gridDim.x) {
    i64 row = rb * rpb + threadIdx.x / tpr;
    bool active = row < rows;
    const ${T}* xr = x + (active ? row : 0) * d;
    ${rms ? 'const float mean = 0.0f;' : `float s = 0.0f;
    if (active) for (i64 j = lane; j < d; j += tpr) s += ${ld('xr[j]')};
    const float mean = group_sum(s, sh, lane, gbase, tpr) / (float)d;`}
    float ss = 0.0f;
    if (active) for (i64 j = lane; j < d; j += tpr) { float c = ${ld('xr[j]')} - mean; ss += c * c; }
    ss = group_sum(ss, sh, lane, gbase, tpr);
    if (!active) continue;
    const float rstd = 1.0f / sqrtf(ss / (float)d + eps);
    ${T}* yr = y + row * d;
    for (i64 j = lane; j < d; j += tpr) yr[j] = ${t.store(`(${ld('xr[j]')} - mean) * rstd * ${ld('g[j]')}${rms ? '' : ` + ${ld('bta[j]')}`}`)};
    if (lane == 0) { ${rms ? '' : `meanOut[row] = ${t.store('mean')}; `}rstdOut[row] = ${t.store('rstd')}; }
  }
}`;
}

function backwardSource(rms: boolean, dtype: DType): string {
  const t = cudaType(rms ? 'rmsNormBackward' : 'layerNormBackward', dtype);
  const T = t.ctype;
  const ld = (e: string): string => t.load(e);
  const meanOf = (r: string): string => (rms ? '0.0f' : ld(`mean[${r}]`));
  return `${PRELUDE}
${ROW_HELPERS}
// dx = rstd·(dy·g − mean(dy·g) − x̂·mean(dy·g·x̂)) (LayerNorm); rstd·(dy·g − x̂·mean(dy·g·x̂)) (RMSNorm).
extern "C" __global__ void rows_dx(${T}* __restrict__ dx, const ${T}* __restrict__ dy, const ${T}* __restrict__ x,
    const ${T}* __restrict__ mean, const ${T}* __restrict__ rstdIn, const ${T}* __restrict__ g, i64 rows, i64 d, int tpr) {
  __shared__ float sh[ROW_THREADS];
  ROW_LANES(tpr)
  for (i64 rb = blockIdx.x; rb * rpb < rows; rb += gridDim.x) {
    i64 row = rb * rpb + threadIdx.x / tpr;
    bool active = row < rows;
    i64 r = active ? row : 0;
    const ${T}* xr = x + r * d;
    const ${T}* dyr = dy + r * d;
    const float mu = ${meanOf('r')}, rstd = ${ld('rstdIn[r]')};
    float sg = 0.0f, sgx = 0.0f;
    if (active) for (i64 j = lane; j < d; j += tpr) {
      float gg = ${ld('dyr[j]')} * ${ld('g[j]')};
      sg += gg;
      sgx += gg * (${ld('xr[j]')} - mu) * rstd;
    }
    ${rms ? '' : 'sg = group_sum(sg, sh, lane, gbase, tpr);'}
    sgx = group_sum(sgx, sh, lane, gbase, tpr);
    if (!active) continue;
    const float mg = ${rms ? '0.0f' : 'sg / (float)d'}, mgx = sgx / (float)d;
    ${T}* dxr = dx + row * d;
    for (i64 j = lane; j < d; j += tpr) {
      float xh = (${ld('xr[j]')} - mu) * rstd;
      dxr[j] = ${t.store(`rstd * (${ld('dyr[j]')} * ${ld('g[j]')} - mg - xh * mgx)`)};
    }
  }
}

// Partial column sums over one chunk of rows: part[chunk][0][j] = Σ dy·x̂, part[chunk][1][j] = Σ dy.
extern "C" __global__ void cols(float* __restrict__ part, const ${T}* __restrict__ dy, const ${T}* __restrict__ x,
    const ${T}* __restrict__ mean, const ${T}* __restrict__ rstdIn, i64 rows, i64 d, i64 chunk) {
  __shared__ float sa[256], sb[256];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const i64 j = (i64)blockIdx.x * 32 + tx;
  const i64 r0 = (i64)blockIdx.y * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
  float a = 0.0f, bsum = 0.0f;
  if (j < d) for (i64 r = r0 + ty; r < r1; r += 8) {
    float dyv = ${ld('dy[r * d + j]')};
    a += dyv * (${ld('x[r * d + j]')} - ${meanOf('r')}) * ${ld('rstdIn[r]')};
    bsum += dyv;
  }
  sa[ty * 32 + tx] = a;
  sb[ty * 32 + tx] = bsum;
  __syncthreads();
  for (int s = 4; s > 0; s >>= 1) {
    if (ty < s) { sa[ty * 32 + tx] += sa[(ty + s) * 32 + tx]; sb[ty * 32 + tx] += sb[(ty + s) * 32 + tx]; }
    __syncthreads();
  }
  if (ty == 0 && j < d) {
    part[((i64)blockIdx.y * 2) * d + j] = sa[tx];
    part[((i64)blockIdx.y * 2 + 1) * d + j] = sb[tx];
  }
}

// dgamma[j] (and dbeta[j]) = the chunks' partial sums added in order.
extern "C" __global__ void finish(${T}* __restrict__ dg, ${T}* __restrict__ db, const float* __restrict__ part, i64 d, i64 chunks) {
  for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < d; j += (i64)gridDim.x * blockDim.x) {
    double a = 0.0, bsum = 0.0;
    for (i64 c = 0; c < chunks; c++) { a += part[(c * 2) * d + j]; bsum += part[(c * 2 + 1) * d + j]; }
    dg[j] = ${t.store('(float)a')};
    if (db) db[j] = ${t.store('(float)bsum')};
  }
}`;
}

function forward(rms: boolean, b: CudaBackend, args: KernelArgs<PrimitiveAttrs['layerNorm']>): void {
  const name = rms ? 'rmsNorm' : 'layerNorm';
  const { rows, d, eps } = args.attrs;
  const views = [...args.inputs, ...args.outputs];
  const dt = checkFloat(name, views);
  if (rows * d === 0) return;
  const tpr = threadsPerRow(d);
  const fn = b.fn(`${name}:${dt}`, () => forwardSource(rms, dt), 'fwd');
  const p = new CudaParams();
  const [x, g, beta] = args.inputs as View[];
  const [y, a1, a2] = args.outputs as View[];
  if (rms) p.ptr(b.ptr(y!)).ptr(b.ptr(a1!)).ptr(b.ptr(x!)).ptr(b.ptr(g!));
  else p.ptr(b.ptr(y!)).ptr(b.ptr(a1!)).ptr(b.ptr(a2!)).ptr(b.ptr(x!)).ptr(b.ptr(g!)).ptr(b.ptr(beta!));
  p.i64(rows).i64(d).f32(eps).i32(tpr);
  b.launch(fn, rowBlocks(rows, tpr), ROW_THREADS, p);
}

function backward(rms: boolean, b: CudaBackend, args: KernelArgs<PrimitiveAttrs['layerNormBackward']>): void {
  const name = rms ? 'rmsNormBackward' : 'layerNormBackward';
  const { rows, d } = args.attrs;
  const dt = checkFloat(name, [...args.inputs, ...args.outputs]);
  // LayerNorm: [dy, x, mean, rstd, gamma] → [dx, dgamma, dbeta]; RMSNorm: [dy, x, rstd, gamma] → [dx, dgamma].
  const [dy, x] = args.inputs as View[];
  const mean = rms ? null : args.inputs[2]!;
  const rstd = args.inputs[rms ? 2 : 3]!, g = args.inputs[rms ? 3 : 4]!;
  const [dx, dg] = args.outputs as View[];
  const db = rms ? null : args.outputs[2]!;
  if (d === 0) return;
  const key = `${name}:${dt}`;
  const source = (): string => backwardSource(rms, dt);
  if (rows === 0) {
    b.ctx.memset(b.ptr(dg!), 0, d, dt === 'f32' ? 4 : 2);
    if (db) b.ctx.memset(b.ptr(db), 0, d, dt === 'f32' ? 4 : 2);
    return;
  }
  const meanPtr = mean ? b.ptr(mean) : 0;
  const tpr = threadsPerRow(d);
  b.launch(b.fn(key, source, 'rows_dx'), rowBlocks(rows, tpr), ROW_THREADS,
    new CudaParams().ptr(b.ptr(dx!)).ptr(b.ptr(dy!)).ptr(b.ptr(x!)).ptr(meanPtr).ptr(b.ptr(rstd)).ptr(b.ptr(g)).i64(rows).i64(d).i32(tpr));
  const chunks = Math.ceil(rows / COL_CHUNK);
  const part = b.scratch(chunks * 2 * d * 4);
  try {
    b.launch(b.fn(key, source, 'cols'), [Math.ceil(d / 32), chunks], [32, 8],
      new CudaParams().ptr(part.ptr).ptr(b.ptr(dy!)).ptr(b.ptr(x!)).ptr(meanPtr).ptr(b.ptr(rstd)).i64(rows).i64(d).i64(COL_CHUNK));
    b.launch(b.fn(key, source, 'finish'), Math.min(Math.ceil(d / 256), 65536), 256,
      new CudaParams().ptr(b.ptr(dg!)).ptr(db ? b.ptr(db) : 0).ptr(part.ptr).i64(d).i64(chunks));
  } finally {
    b.releaseScratch(part);
  }
}

export const layerNormKernel = (b: CudaBackend, a: KernelArgs<PrimitiveAttrs['layerNorm']>): void => forward(false, b, a);
export const rmsNormKernel = (b: CudaBackend, a: KernelArgs<PrimitiveAttrs['rmsNorm']>): void => forward(true, b, a as KernelArgs<PrimitiveAttrs['layerNorm']>);
export const layerNormBackwardKernel = (b: CudaBackend, a: KernelArgs<PrimitiveAttrs['layerNormBackward']>): void => backward(false, b, a);
export const rmsNormBackwardKernel = (b: CudaBackend, a: KernelArgs<PrimitiveAttrs['rmsNormBackward']>): void => backward(true, b, a);

/** Sources of the norm kernels (for the compile test and cache warming). */
export function normSources(dtype: DType): { key: string; source: string }[] {
  return [
    { key: `layerNorm:${dtype}`, source: forwardSource(false, dtype) },
    { key: `rmsNorm:${dtype}`, source: forwardSource(true, dtype) },
    { key: `layerNormBackward:${dtype}`, source: backwardSource(false, dtype) },
    { key: `rmsNormBackward:${dtype}`, source: backwardSource(true, dtype) },
  ];
}
