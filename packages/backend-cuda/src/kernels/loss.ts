import { DTypeError, type DType, type KernelArgs, type PrimitiveAttrs } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { STATUS } from '../status-flags.js';
import { PRELUDE, cudaType } from './prelude.js';
import { ROW_HELPERS, ROW_THREADS, checkFloat, rowBlocks, threadsPerRow } from './rows.js';

/**
 * Fused cross-entropy over [n, c] logits with i32 targets: one row group per
 * row computes lse = max + log(Σ exp(x − max)), then loss = lse − x[t], or
 * dlogits = (exp(x − lse) − onehot(t))·dloss. Rows whose target is
 * ignoreIndex get 0. A target that is neither a class nor ignoreIndex raises
 * the crossEntropy status flag (reported at the next read) and its row is 0.
 */
export function crossEntropySource(backward: boolean, dtype: DType): string {
  const t = cudaType('crossEntropy', dtype);
  const T = t.ctype;
  const ld = (e: string): string => t.load(e);
  return `${PRELUDE}
${ROW_HELPERS}
extern "C" __global__ void k(${T}* __restrict__ out, const ${T}* __restrict__ x, const i32* __restrict__ targets,
    ${backward ? `const ${T}* __restrict__ dloss, ` : ''}u32* __restrict__ status, i64 n, i64 c, int ignoreIndex, int tpr) {
  __shared__ float sh[ROW_THREADS];
  ROW_LANES(tpr)
  for (i64 rb = blockIdx.x; rb * rpb < n; rb += gridDim.x) {
    i64 row = rb * rpb + threadIdx.x / tpr;
    bool active = row < n;
    int tg = active ? targets[row] : ignoreIndex;
    bool bad = tg != ignoreIndex && (tg < 0 || (i64)tg >= c);
    bool use = active && tg != ignoreIndex && !bad;
    const ${T}* xr = x + (active ? row : 0) * c;
    float m = -INF_F;
    if (use) for (i64 j = lane; j < c; j += tpr) { float v = ${ld('xr[j]')}; if (v > m || v != v) m = v; }
    m = group_max(m, sh, lane, gbase, tpr);
    float s = 0.0f;
    if (use) for (i64 j = lane; j < c; j += tpr) s += expf(${ld('xr[j]')} - m);
    s = group_sum(s, sh, lane, gbase, tpr);
    if (!active) continue;
    if (bad && lane == 0) { atomicOr(status, ${STATUS.crossEntropy}u); atomicExch(status + 1, (u32)tg); }
    const float lse = m + logf(s);
    ${backward
      ? `${T}* dr = out + row * c;
    const float g = use ? ${ld('dloss[row]')} : 0.0f;
    for (i64 j = lane; j < c; j += tpr) {
      float e = use ? expf(${ld('xr[j]')} - lse) : 0.0f;
      dr[j] = ${t.store(`use ? (j == (i64)tg ? e - 1.0f : e) * g : 0.0f`)};
    }`
      : `if (lane == 0) out[row] = ${t.store(`use ? lse - ${ld('xr[tg]')} : 0.0f`)};`}
  }
}`;
}

export function crossEntropyKernel(backward: boolean, b: CudaBackend, args: KernelArgs<PrimitiveAttrs['crossEntropy']>): void {
  const name = backward ? 'crossEntropyBackward' : 'crossEntropy';
  const x = args.inputs[0]!, tgt = args.inputs[1]!, out = args.outputs[0]!;
  const floats = backward ? [x, args.inputs[2]!, out] : [x, out];
  const d = checkFloat(name, floats);
  if (tgt.dtype !== 'i32') throw new DTypeError(`cuda kernel '${name}' expects i32 targets, got ${tgt.dtype}`);
  const { n, c, ignoreIndex } = args.attrs;
  if (n === 0) return;
  const tpr = threadsPerRow(c);
  const fn = b.fn(`${name}:${d}`, () => crossEntropySource(backward, d), 'k');
  const p = new CudaParams().ptr(b.ptr(out)).ptr(b.ptr(x)).ptr(b.ptr(tgt));
  if (backward) p.ptr(b.ptr(args.inputs[2]!));
  p.ptr(b.statusPtr).i64(n).i64(c).i32(ignoreIndex).i32(tpr);
  b.launch(fn, rowBlocks(n, tpr), ROW_THREADS, p);
}
