import { add, div, type Tensor } from '@adapterkit/core';
import { asDtype, rowNorms, scaleBy, type LoRA } from './modules.js';

/** `t` in f32 (DoRA's norms are taken in f32 whatever the weight and adapter dtypes). */
const f32 = (t: Tensor): Tensor => asDtype(t, 'f32');

/** W + s·B·A in f32 [out, in]: the direction DoRA normalises (s = alpha/r; Python uses s = 1 in its norm, quirk Q13). */
export function doraDirection(lora: LoRA, weight: Tensor, s: number): Tensor {
  return add(f32(weight), scaleBy(lora.deltaWeight(), s));
}

/** DoRA's per-row factor m / ‖W + s·B·A‖₂ as [out, 1] in f32. */
export function doraScale(lora: LoRA, weight: Tensor, s: number): Tensor {
  return div(f32(lora.m!.weight), rowNorms(doraDirection(lora, weight, s)));
}
