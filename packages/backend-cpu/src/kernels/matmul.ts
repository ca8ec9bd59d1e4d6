import type { KernelArgs, KernelImpl, PrimitiveAttrs } from '@adapterkit/core';
import type { CpuAddon } from '../addon.js';
import { allF32, f32Of, referenceKernel } from './common.js';

/** Batched f32 matmul on the native packed GEMM; other dtypes (f64) use the reference TS kernel. */
export function matmulKernels(addon: CpuAddon): Map<string, KernelImpl> {
  const ref = referenceKernel('matmul');
  const impl: KernelImpl = (b, args: KernelArgs<PrimitiveAttrs['matmul']>) => {
    const a = args.inputs[0]!, bv = args.inputs[1]!, c = args.outputs[0]!;
    if (!allF32(a, bv, c)) return ref(b, args);
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = args.attrs;
    addon.gemm(f32Of(a), a.offset, f32Of(bv), bv.offset, f32Of(c), c.offset, batch, m, n, k, transA, transB, aBatchStride, bBatchStride);
  };
  return new Map([['matmul', impl]]);
}
