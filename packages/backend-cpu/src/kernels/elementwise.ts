import { BINARY_OPS, COMPARE_OPS, UNARY_OPS, type KernelImpl } from '@adapterkit/core';
import type { CpuAddon, NativeArray } from '../addon.js';
import { layoutOf } from '../layout.js';
import { BINARY_CODE, COMPARE_CODE, UNARY_CODE } from '../ops.js';
import { allF32, arrayOf, f32Of, referenceKernel } from './common.js';

/**
 * Elementwise kernels over strided views (any strides, stride-0 broadcasts,
 * offsets). f32 unary/binary/compare run natively; copy and where run
 * natively for every dtype (they move bits by element size). Other dtypes,
 * and layouts whose coalesced rank exceeds the addon's limit, use the
 * reference TS kernel.
 */
export function elementwiseKernels(addon: CpuAddon): Map<string, KernelImpl> {
  const k = new Map<string, KernelImpl>();

  for (const op of UNARY_OPS) {
    const ref = referenceKernel(op);
    const code = UNARY_CODE[op];
    k.set(op, (b, args) => {
      const x = args.inputs[0]!, y = args.outputs[0]!;
      const layout = allF32(x, y) ? layoutOf([y, x]) : null;
      if (!layout) return ref(b, args);
      addon.unary(code, f32Of(x), f32Of(y), layout);
    });
  }

  for (const op of BINARY_OPS) {
    const ref = referenceKernel(op);
    const code = BINARY_CODE[op];
    k.set(op, (b, args) => {
      const a = args.inputs[0]!, c = args.inputs[1]!, z = args.outputs[0]!;
      const layout = allF32(a, c, z) ? layoutOf([z, a, c]) : null;
      if (!layout) return ref(b, args);
      addon.binary(code, f32Of(a), f32Of(c), f32Of(z), layout);
    });
  }

  for (const op of COMPARE_OPS) {
    const ref = referenceKernel(op);
    const code = COMPARE_CODE[op];
    k.set(op, (b, args) => {
      const a = args.inputs[0]!, c = args.inputs[1]!, z = args.outputs[0]!;
      const layout = allF32(a, c) && z.dtype === 'u8' ? layoutOf([z, a, c]) : null;
      if (!layout) return ref(b, args);
      addon.compare(code, f32Of(a), f32Of(c), arrayOf(z) as Uint8Array, layout);
    });
  }

  const refWhere = referenceKernel('where');
  k.set('where', (b, args) => {
    const c = args.inputs[0]!, a = args.inputs[1]!, e = args.inputs[2]!, y = args.outputs[0]!;
    const ok = c.dtype === 'u8' && a.dtype === y.dtype && e.dtype === y.dtype;
    const layout = ok ? layoutOf([y, c, a, e]) : null;
    if (!layout) return refWhere(b, args);
    addon.where(arrayOf(c) as Uint8Array, arrayOf(a) as NativeArray, arrayOf(e) as NativeArray, arrayOf(y) as NativeArray, layout);
  });

  const refCopy = referenceKernel('copy');
  k.set('copy', (b, args) => {
    const x = args.inputs[0]!, y = args.outputs[0]!;
    // Source and target in one storage may overlap (x[1:] = x[:-1]): the reference snapshots the source.
    const layout = x.dtype === y.dtype && x.storage !== y.storage ? layoutOf([y, x]) : null;
    if (!layout) return refCopy(b, args);
    addon.copy(arrayOf(x) as NativeArray, arrayOf(y) as NativeArray, layout);
  });

  return k;
}
