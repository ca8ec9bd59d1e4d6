import { noGrad } from '../../autograd/grad-mode.js';
import { tidy } from '../../backend/scope.js';
import { ShapeError, formatShape } from '../../errors.js';
import { add, ne, sub } from '../../ops/binary.js';
import { cast } from '../../ops/cast.js';
import { arange, tensor } from '../../ops/creation.js';
import { matmul } from '../../ops/matmul.js';
import { expand, narrow, reshape } from '../../ops/shape.js';
import { where } from '../../ops/where.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Checks a padding mask against the key length it must cover. */
function checkMask(mask: Tensor, batch: number, keyLength: number, where_: string): void {
  if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== keyLength) {
    throw new ShapeError(
      `${where_}: attentionMask must be [batch, cached + new tokens] = [${batch}, ${keyLength}], got ${formatShape(mask.shape)}` +
        (mask.rank === 2 && mask.shape[1]! < keyLength ? ' (with a KV cache, pass the mask of the whole sequence so far)' : ''),
    );
  }
}

/**
 * Position ids [batch, newLength] (i32) for the last `newLength` of the
 * `mask`'s columns: the number of real tokens before each one (cumsum − 1),
 * as HF generate computes them, so left-padded rows start at 0. Padding
 * positions get 1, as in HF (their value does not matter). The cumulative
 * sum is a matmul with an upper-triangular matrix, so it runs on any backend
 * without reading the mask back.
 */
export function positionIdsFromMask(mask: Tensor, newLength: number): Tensor {
  const [batch, keyLength] = mask.shape as [number, number];
  checkMask(mask, batch, keyLength, 'positionIdsFromMask');
  return noGrad(() =>
    tidy(() => {
      const keepU8 = ne(mask, 0);
      const keep = cast(keepU8, 'f32');
      const tri = new Float32Array(keyLength * keyLength);
      for (let j = 0; j < keyLength; j++) for (let i = j; i < keyLength; i++) tri[j * keyLength + i] = 1;
      const counts = matmul(keep, tensor(tri, [keyLength, keyLength], { backend: mask.backend }));
      const pos = where(keepU8, sub(counts, 1), 1);
      return cast(narrow(pos, 1, keyLength - newLength, newLength), 'i32');
    }),
  );
}

/** Position ids pastLength, …, pastLength + newLength − 1 for every row (no padding). */
export function positionIdsFromRange(batch: number, pastLength: number, newLength: number, like: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const r = add(arange(newLength, { backend: like.backend }), pastLength);
      return expand(reshape(r, [1, newLength]), [batch, newLength]);
    }),
  );
}

/** What `buildAttentionMask` combines. */
export interface AttentionMaskSpec {
  batch: number;
  /** Number of new (query) tokens. */
  queryLength: number;
  /** Number of tokens already in the KV cache (they come first among the keys). */
  pastLength: number;
  /** Padding mask over all keys [batch, pastLength + queryLength], 1 = real token; absent = no padding. */
  attentionMask?: Tensor;
  /** Mistral's window: a query sees only keys less than this many slots back. */
  slidingWindow?: number | null;
  /** Backend to build on when there is no padding mask. */
  like: Tensor;
}

/**
 * The keep-mask (u8, 1 = may attend) for decoder self-attention:
 * [batch or 1, 1, queryLength, pastLength + queryLength]. Query i sits at
 * slot pastLength + i; it sees key slot j when j ≤ that slot (causal), when
 * the key is not padding, and, with a sliding window w, when slot − j < w.
 * Fully blocked rows (queries on padding) come out uniform in attention and
 * are ignored downstream.
 */
export function buildAttentionMask(spec: AttentionMaskSpec): Tensor {
  const { batch, queryLength: lq, pastLength, attentionMask } = spec;
  const lk = pastLength + lq;
  const window = spec.slidingWindow ?? null;
  const causal = new Uint8Array(lq * lk);
  for (let i = 0; i < lq; i++) {
    const slot = pastLength + i;
    for (let j = 0; j <= slot; j++) if (window === null || slot - j < window) causal[i * lk + j] = 1;
  }
  return noGrad(() =>
    tidy(() => {
      const backend = (attentionMask ?? spec.like).backend;
      const causalT = tensor(causal, [1, 1, lq, lk], { dtype: 'u8', backend });
      if (!attentionMask) return causalT;
      checkMask(attentionMask, batch, lk, 'LlamaModel');
      const keyKeep = reshape(ne(attentionMask, 0), [batch, 1, 1, lk]);
      return where(keyKeep, causalT, 0);
    }),
  );
}
