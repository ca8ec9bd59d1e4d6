import { runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Converts to another dtype (float→int truncates toward zero). Gradients flow between float dtypes. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const [y] = runKernel('cast', [x], [{ shape: x.shape, dtype }]);
  if (isFloat(x.dtype) && isFloat(dtype)) {
    const from = x.dtype;
    record('cast', [x], [y!], [], ([dy]) => [cast(dy!, from)]);
  }
  return y!;
}
