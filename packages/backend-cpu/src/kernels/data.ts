import type { KernelArgs, KernelImpl, PrimitiveAttrs } from '@adapterkit/core';
import type { CpuAddon } from '../addon.js';
import { RANDOM_CODE } from '../ops.js';
import { f32Of, referenceKernel } from './common.js';

/**
 * Generators and data kernels. `random` into f32 runs natively (the same
 * counter-based hash as core, so values match 'cpu-ref'); fill, cast, gather
 * and scatterAdd reuse the reference TS kernels: fill and gather are already
 * TypedArray.fill / TypedArray.set (native memset/memcpy), and cast and
 * scatterAdd are rare or small in training.
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
  for (const name of ['fill', 'cast', 'gather', 'scatterAdd']) k.set(name, referenceKernel(name));
  return k;
}
