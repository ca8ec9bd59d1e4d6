import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../backend/scope.js';
import { eq } from '../ops/binary.js';
import { randn, tensor } from '../ops/creation.js';
import { embedding } from '../ops/embedding.js';
import { unsqueeze } from '../ops/shape.js';
import { where } from '../ops/where.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/** Options of `Embedding`. */
export interface EmbeddingOptions {
  /** Row that is zero at init and receives no gradient (torch's padding_idx; negative counts from the end). */
  paddingIdx?: number;
  dtype?: DType;
}

/**
 * A lookup table: i32 ids (any shape) → rows of 'weight' [num, dim], init
 * N(0, 1) from the seeded global stream, as torch.nn.Embedding.
 */
export class Embedding extends Module {
  readonly weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    const pad = opts.paddingIdx;
    if (pad !== undefined && (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings)) {
      throw new RangeError(`Embedding: paddingIdx ${pad} out of range for ${numEmbeddings} embeddings`);
    }
    this.paddingIdx = pad === undefined ? null : pad < 0 ? pad + numEmbeddings : pad;
    const padRow = this.paddingIdx;
    const init = noGrad(() =>
      tidy(() => {
        const w = randn([numEmbeddings, embeddingDim], { dtype: opts.dtype });
        if (padRow === null) return w;
        // where() rather than a multiply, so the row is +0 like torch's fill_(0), not −0.
        const isPad = new Uint8Array(numEmbeddings);
        isPad[padRow] = 1;
        return where(tensor(isPad, [numEmbeddings, 1]), 0, w);
      }),
    );
    this.weight = this.registerParameter('weight', new Parameter(init));
  }

  /** ids (…) i32 → (…, dim). */
  forward(ids: Tensor): Tensor {
    const y = embedding(this.weight, ids);
    if (this.paddingIdx === null || !isGradEnabled() || !this.weight.requiresGrad) return y;
    // torch's padding_idx: the padding row gets no gradient. Positions holding it
    // take a detached copy of their output, so their gradient stops there.
    const isPad = eq(ids, this.paddingIdx);
    const padMask = unsqueeze(isPad, -1);
    const detached = new Tensor(y.storage, y.shape, y.strides, y.offset);
    const out = where(padMask, detached, y);
    for (const t of [isPad, padMask, detached, y]) t.dispose();
    return out;
  }
}
