import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from './creation.js';

/**
 * The most negative finite value of a float dtype. Blocked attention scores are
 * set to it instead of −∞, so fully masked rows give uniform weights rather
 * than NaN.
 */
export function maskValue(dtype: DType): number {
  switch (dtype) {
    case 'f64': return -Number.MAX_VALUE;
    case 'f16': return -65504;
    case 'bf16': return -3.3895313892515355e38;
    default: return -3.4028234663852886e38;
  }
}

/** u8 [lq, lk] with 1 where key j ≤ i + (lk − lq). */
export function causalMask(lq: number, lk: number, like: Tensor): Tensor {
  const data = new Uint8Array(lq * lk);
  const shift = lk - lq;
  for (let i = 0; i < lq; i++) for (let j = 0; j < lk && j <= i + shift; j++) data[i * lk + j] = 1;
  return tensor(data, [lq, lk], { dtype: 'u8', backend: like.backend });
}
