import { assertFloat } from '../backend/dispatch.js';
import type { Tensor } from '../tensor/tensor.js';
import { mul } from './binary.js';
import { bernoulli } from './creation.js';

/** Options of `dropout`. */
export interface DropoutOptions {
  /**
   * Explicit seed for the mask (counter 0). Without it the mask comes from the
   * global random stream (`manualSeed`), which `checkpoint` replays.
   */
  seed?: number;
}

/**
 * Inverted dropout: zeroes each element with probability `p` and scales the
 * kept ones by 1/(1 − p), so the expected value is unchanged. Returns `x`
 * itself when `p` is 0 or `training` is false; with `p` = 1 the result is
 * x·0 (all zeros for finite x, and no random numbers are drawn). The mask is
 * `bernoulli(x.shape, 1 − p)` in x's dtype; the gradient is dy · mask / (1 − p).
 */
export function dropout(x: Tensor, p: number, training = true, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  assertFloat('dropout', x);
  if (p === 1) return mul(x, 0);
  const keep = bernoulli(x.shape, 1 - p, { dtype: x.dtype, backend: x.backend, seed: opts.seed });
  const scaled = mul(keep, 1 / (1 - p));
  keep.dispose();
  const y = mul(x, scaled);
  scaled.dispose();
  return y;
}
