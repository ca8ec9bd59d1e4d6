import { DTypeError, bytesPerElement, type DType, type KernelArgs, type PrimitiveAttrs, type View } from '@adapterkit/core';
import { autocastDType, type AutocastDType } from '../autocast.js';
import type { CudaBackend } from '../backend.js';
import { castExpr, runStrided } from './elementwise.js';
import { cudaType } from './prelude.js';

/**
 * Batched matmul through cuBLAS (cublasGemmStridedBatchedEx).
 *
 * cuBLAS is column-major; a row-major C = A·B is the column-major
 * Cᵀ = Bᵀ·Aᵀ, and a row-major matrix read column-major is its transpose, so
 * the call swaps the operands and keeps the transposes:
 *   gemm(opB, opA, n, m, k, B, ldb, A, lda, C, ldc = n)
 * with lda = transA ? m : k and ldb = transB ? k : n. Batch strides pass
 * through (0 broadcasts one matrix to every batch item). A shared B with a
 * stack of row-major A's is folded into one tall GEMM.
 *
 * Dtypes: f32 (plain FP32 unless setTf32(true)); f16 or bf16 inputs with an
 * output of the same dtype or f32, always accumulating in f32
 * (CUBLAS_COMPUTE_32F). Under autocast('bf16' | 'f16') f32 inputs are first
 * converted into scratch memory and the result stays f32.
 */

const OP_N = 0;
const OP_T = 1;
const CUDA_R = { f32: 0, f16: 2, bf16: 14 } as const;
const COMPUTE_32F = 68;
const COMPUTE_32F_FAST_TF32 = 77;

type MatmulAttrs = PrimitiveAttrs['matmul'];
type GemmDType = keyof typeof CUDA_R;

/** The cuBLAS arguments of a row-major batched matmul (exported for tests). */
export interface GemmPlan {
  opA: number; opB: number;
  m: number; n: number; k: number;
  lda: number; ldb: number; ldc: number;
  strideA: number; strideB: number; strideC: number;
  batch: number;
  /** true: the first cuBLAS operand is B (always, after the swap). */
  swapped: true;
}

/** Maps the primitive's row-major attributes onto cuBLAS's column-major call (operands swapped). */
export function planGemm(a: MatmulAttrs): GemmPlan {
  let { batch, m } = a;
  const { n, k, transA, transB, aBatchStride, bBatchStride } = a;
  let strideA = aBatchStride;
  if (batch > 1 && bBatchStride === 0 && !transA && aBatchStride === m * k) {
    m *= batch;
    batch = 1;
    strideA = 0;
  }
  return {
    // cuBLAS's (m, n) are our (n, m): its first operand is B.
    opA: transB ? OP_T : OP_N,
    opB: transA ? OP_T : OP_N,
    m: n, n: m, k,
    lda: transB ? k : n,
    // Folding happens only without transA, so a transposed A keeps its own m.
    ldb: transA ? a.m : k,
    ldc: n,
    strideA: batch > 1 ? bBatchStride : 0,
    strideB: batch > 1 ? strideA : 0,
    strideC: batch > 1 ? a.m * n : 0,
    batch,
    swapped: true,
  };
}

function gemmType(d: DType): GemmDType {
  if (d === 'f32' || d === 'f16' || d === 'bf16') return d;
  throw new DTypeError(`cuda kernel 'matmul' does not support dtype ${d}; supported: f32, f16, bf16`);
}

/** Elements of an operand the call reads: one matrix, or every batch item. */
function operandElements(batch: number, batchStride: number, rows: number, cols: number): number {
  return batchStride === 0 ? rows * cols : (batch - 1) * batchStride + rows * cols;
}

/** Converts `count` contiguous f32 elements of `src` (from its offset) into a new scratch block of `to`. */
function castToScratch(b: CudaBackend, src: View, count: number, to: AutocastDType): { ptr: number; release(): void } {
  const block = b.scratch(count * bytesPerElement(to));
  const out: View = { storage: src.storage, dtype: to, shape: [count], strides: [1], offset: 0 };
  const inp: View = { storage: src.storage, dtype: src.dtype, shape: [count], strides: [1], offset: src.offset };
  const t = cudaType('cast', to), f = cudaType('cast', src.dtype);
  runStrided(b, 'autocast', `cast:${src.dtype}:${to}`, [out, inp], [t.ctype, f.ctype], `p0[o[0]] = ${castExpr(src.dtype, to, 'p1[o[1]]')};`, [block.ptr, b.ptr(src.storage)]);
  return { ptr: block.ptr, release: () => b.releaseScratch(block) };
}

export function matmulKernel(b: CudaBackend, args: KernelArgs<MatmulAttrs>): void {
  const av = args.inputs[0]!, bv = args.inputs[1]!, cv = args.outputs[0]!;
  const attrs = args.attrs;
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = attrs;
  if (av.dtype !== bv.dtype) throw new DTypeError(`cuda kernel 'matmul': input dtypes differ (${av.dtype}, ${bv.dtype})`);
  let inType = gemmType(av.dtype);
  const outType = gemmType(cv.dtype);
  if (inType === 'f32' && outType !== 'f32') throw new DTypeError(`cuda kernel 'matmul': f32 inputs need an f32 output, got ${cv.dtype}`);
  if (inType !== 'f32' && outType !== inType && outType !== 'f32') throw new DTypeError(`cuda kernel 'matmul': ${inType} inputs give ${inType} or f32 output, got ${cv.dtype}`);
  if (batch * m * n === 0) return;
  const cPtr = b.ptr(cv);
  if (k === 0) {
    b.ctx.memset(cPtr, 0, batch * m * n, bytesPerElement(cv.dtype) as 2 | 4);
    return;
  }
  let aPtr = b.ptr(av), bPtr = b.ptr(bv);
  const releases: (() => void)[] = [];
  const ac = inType === 'f32' ? autocastDType() : null;
  try {
    if (ac) {
      const aRows = transA ? k : m, aCols = transA ? m : k;
      const bRows = transB ? n : k, bCols = transB ? k : n;
      const ca = castToScratch(b, av, operandElements(batch, aBatchStride, aRows, aCols), ac);
      releases.push(ca.release);
      const cb = castToScratch(b, bv, operandElements(batch, bBatchStride, bRows, bCols), ac);
      releases.push(cb.release);
      aPtr = ca.ptr;
      bPtr = cb.ptr;
      inType = ac;
    }
    const g = planGemm(attrs);
    const compute = inType === 'f32' && b.tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
    b.ctx.gemm(
      g.opA, g.opB, g.m, g.n, g.k, 1,
      bPtr, CUDA_R[inType], g.lda, g.strideA,
      aPtr, CUDA_R[inType], g.ldb, g.strideB,
      0, cPtr, CUDA_R[outType], g.ldc, g.strideC,
      g.batch, compute,
    );
  } finally {
    for (const r of releases) r();
  }
}
