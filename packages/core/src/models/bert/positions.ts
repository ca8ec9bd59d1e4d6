import { noGrad } from '../../autograd/grad-mode.js';
import { tidy } from '../../backend/scope.js';
import { add, mul, ne, sub } from '../../ops/binary.js';
import { cast } from '../../ops/cast.js';
import { arange, tensor } from '../../ops/creation.js';
import { matmul } from '../../ops/matmul.js';
import { reshape } from '../../ops/shape.js';
import { maskValue } from '../../ops/attention.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

/** BERT position ids 0…seqLen−1 as i32 [1, seqLen] (broadcast over the batch). */
export function absolutePositionIds(seqLen: number, like: Tensor): Tensor {
  return noGrad(() => tidy(() => reshape(arange(seqLen, { dtype: 'i32', backend: like.backend }), [1, seqLen])));
}

/**
 * RoBERTa / XLM-R position ids from token ids (HF `create_position_ids_from_input_ids`):
 * real tokens count 1, 2, 3, … from the left (padding does not advance the
 * count), padding tokens get `padId` itself, and `padId` is added to the
 * count — so the first real token has position padId + 1.
 *
 * The running count is a matmul with an upper-triangular matrix of ones, which
 * keeps the work on the backend (forward stays synchronous on GPU backends);
 * it is exact in f32 for any sequence shorter than 2²⁴.
 */
export function positionIdsFromPadding(inputIds: Tensor, padId: number): Tensor {
  if (inputIds.rank !== 2) throw new Error(`RoBERTa position ids: input_ids must be [batch, seq], got [${inputIds.shape.join(', ')}]`);
  const seqLen = inputIds.shape[1]!;
  return noGrad(() =>
    tidy(() => {
      const isReal = cast(ne(inputIds, padId), 'f32');
      // upper[j, i] = 1 where j ≤ i, so (isReal @ upper)[b, i] = Σ_{j ≤ i} isReal[b, j].
      const upper = new Float32Array(seqLen * seqLen);
      for (let j = 0; j < seqLen; j++) for (let i = j; i < seqLen; i++) upper[j * seqLen + i] = 1;
      const counts = matmul(isReal, tensor(upper, [seqLen, seqLen], { backend: inputIds.backend }));
      return cast(add(mul(counts, isReal), padId), 'i32');
    }),
  );
}

/**
 * The HF extended attention mask: [batch, seq] with 1 = attend, 0 = padding
 * (any dtype) → additive [batch, 1, 1, seq] in `dtype`, 0 where attended and
 * the dtype's most negative finite value where masked ((1 − m) · min, as HF).
 * Broadcasts over heads and query positions. Prefix tuning extends it along
 * the last axis.
 */
export function extendedAttentionMask(mask: Tensor, dtype: DType): Tensor {
  if (mask.rank !== 2) throw new Error(`attention_mask must be [batch, seq] with 1 for tokens and 0 for padding, got [${mask.shape.join(', ')}]`);
  const [b, l] = mask.shape as [number, number];
  return noGrad(() =>
    tidy(() => {
      const m = cast(mask, dtype);
      return reshape(mul(sub(1, m), maskValue(dtype)), [b, 1, 1, l]);
    }),
  );
}
