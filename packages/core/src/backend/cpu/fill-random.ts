import { f32ToBf16Bits, f32ToF16Bits } from '../../tensor/dtype.js';
import { normalAt, uniformAt } from '../../random/hash.js';
import type { KernelArgs } from '../backend.js';
import type { PrimitiveAttrs } from '../primitives.js';
import { FLOAT_DTYPES, NUMERIC_DTYPES, arrayOf, checkDType, floatArrayOf } from './common.js';

/** Sets every element of the (contiguous) output to `value`; f16/bf16 get the encoded bits. */
export function fillKernel(args: KernelArgs<PrimitiveAttrs['fill']>): void {
  const y = args.outputs[0]!;
  const size = y.shape.reduce((p, d) => p * d, 1);
  const v = args.attrs.value;
  const bits = y.dtype === 'f16' ? f32ToF16Bits(v) : y.dtype === 'bf16' ? f32ToBf16Bits(v) : v;
  arrayOf(y).fill(bits, y.offset, y.offset + size);
}

/**
 * Counter-based random numbers (see random/hash.ts): element i is a pure
 * function of (seed, counter + i) so every backend produces identical values.
 * uniform/normal need a float output; bernoulli masks may also be integer.
 */
export function randomKernel(args: KernelArgs<PrimitiveAttrs['random']>): void {
  const yv = args.outputs[0]!;
  const a = args.attrs;
  checkDType('random', yv.dtype, a.distribution === 'bernoulli' ? NUMERIC_DTYPES : FLOAT_DTYPES);
  const size = yv.shape.reduce((p, d) => p * d, 1);
  const y = arrayOf(yv);
  const seed = a.seed >>> 0, counter = a.counter, o = yv.offset;
  switch (a.distribution) {
    case 'uniform': {
      const low = a.low ?? 0, span = (a.high ?? 1) - low;
      for (let i = 0; i < size; i++) y[o + i] = low + span * uniformAt(seed, (counter + i) >>> 0);
      break;
    }
    case 'normal': {
      const mean = a.mean ?? 0, std = a.std ?? 1;
      const f = floatArrayOf(yv);
      for (let i = 0; i < size; i++) f[o + i] = mean + std * normalAt(seed, (counter + i) >>> 0);
      break;
    }
    case 'bernoulli': {
      const p = a.p ?? 0.5;
      for (let i = 0; i < size; i++) y[o + i] = uniformAt(seed, (counter + i) >>> 0) < p ? 1 : 0;
      break;
    }
    default:
      throw new Error(`cpu-ref kernel 'random': unknown distribution '${(a as { distribution: string }).distribution}'`);
  }
}
