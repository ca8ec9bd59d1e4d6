import type { KernelArgs, KernelImpl, PrimitiveAttrs } from '@adapterkit/core';
import type { CpuAddon, NativeArray } from '../addon.js';
import { RANDOM_CODE } from '../ops.js';
import { allF32, arrayOf, f32Of, referenceKernel } from './common.js';

/**
 * Generators and data kernels. `random` into f32 runs natively (the same
 * counter-based hash as core, so values match 'cpu-ref'); gather runs
 * natively for every dtype (row copies), scatterAdd for f32 (column ranges
 * per thread, rows added in index order, so sums match the reference bit for
 * bit); fill and cast reuse the reference TS kernels (fill is already
 * TypedArray.fill; cast is rare in training).
 */
export function dataKernels(addon: CpuAddon): Map<string, KernelImpl> {
  const k = new Map<string, KernelImpl>();
  const refRandom = referenceKernel('random');
  k.set('random', (b, args: KernelArgs<PrimitiveAttrs['random']>) => {
    const y = args.outputs[0]!;
    const a = args.attrs;
    const code = RANDOM_CODE[a.distribution];
    if (y.dtype !== 'f32' || code === undefined) return refRandom(b, args);
    const size = y.shape.reduce((p, d) => p * d, 1);
    const [p0, p1] =
      a.distribution === 'uniform' ? [a.low ?? 0, a.high ?? 1] : a.distribution === 'normal' ? [a.mean ?? 0, a.std ?? 1] : [a.p ?? 0.5, 0];
    addon.random(f32Of(y), y.offset, size, code, a.seed >>> 0, a.counter, p0, p1);
  });
  const refGather = referenceKernel('gather');
  k.set('gather', (b, args: KernelArgs<PrimitiveAttrs['gather']>) => {
    const [table, idx] = args.inputs;
    const [y] = args.outputs;
    if (idx!.dtype !== 'i32' || table!.dtype !== y!.dtype) return refGather(b, args);
    const { v, d, n } = args.attrs;
    addon.gather(arrayOf(table!) as NativeArray, table!.offset, arrayOf(idx!) as Int32Array, idx!.offset, arrayOf(y!) as NativeArray, y!.offset, v, d, n);
  });
  const refScatter = referenceKernel('scatterAdd');
  k.set('scatterAdd', (b, args: KernelArgs<PrimitiveAttrs['scatterAdd']>) => {
    const [src, idx] = args.inputs;
    const [y] = args.outputs;
    if (idx!.dtype !== 'i32' || !allF32(src!, y!)) return refScatter(b, args);
    const { v, d, n } = args.attrs;
    addon.scatterAdd(f32Of(src!), src!.offset, arrayOf(idx!) as Int32Array, idx!.offset, f32Of(y!), y!.offset, v, d, n);
  });
  for (const name of ['fill', 'cast']) k.set(name, referenceKernel(name));
  return k;
}
