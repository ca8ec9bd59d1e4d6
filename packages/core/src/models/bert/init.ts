import { noGrad } from '../../autograd/grad-mode.js';
import { tidy } from '../../backend/scope.js';
import { randn, tensor, zeros } from '../../ops/creation.js';
import { where } from '../../ops/where.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import type { Module } from '../../nn/module.js';

/**
 * HF `BertPreTrainedModel._init_weights`: Linear weights and Embedding tables
 * N(0, std²) with zero biases and a zero padding row; LayerNorms keep their
 * ones/zeros. Draws from the seeded global stream (`manualSeed`), in module
 * order, so the same seed gives the same model. The values differ from
 * PyTorch's (different generator); the distribution is the same.
 */
export function initBertWeights(model: Module, std: number): void {
  noGrad(() =>
    tidy(() => {
      for (const m of model.modules()) {
        if (m instanceof Linear) {
          m.weight.assign(randn(m.weight.shape, { std, dtype: m.weight.dtype, backend: m.weight.backend }));
          if (m.bias) m.bias.assign(zeros(m.bias.shape, { dtype: m.bias.dtype, backend: m.bias.backend }));
        } else if (m instanceof Embedding) {
          const w = m.weight;
          let init = randn(w.shape, { std, dtype: w.dtype, backend: w.backend });
          if (m.paddingIdx !== null) {
            const isPad = new Uint8Array(m.numEmbeddings);
            isPad[m.paddingIdx] = 1;
            init = where(tensor(isPad, [m.numEmbeddings, 1], { dtype: 'u8', backend: w.backend }), 0, init);
          }
          w.assign(init);
        }
      }
    }),
  );
}
