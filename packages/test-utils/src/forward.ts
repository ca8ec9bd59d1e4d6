import { noGrad, tidy, type Tensor } from '@adapterkit/core';
import { readAndDispose } from './host.js';

/**
 * Runs `fn` without gradients inside a tidy (its intermediates are freed),
 * reads the tensor it returns to the host as f32 and disposes it. E.g.
 * `await readNoGrad(() => model.forward(feed).lastHiddenState)`. An error
 * thrown by `fn` rejects the promise (async), as a failed read would.
 */
export async function readNoGrad(fn: () => Tensor): Promise<Float32Array> {
  return readAndDispose(noGrad(() => tidy(fn)));
}
