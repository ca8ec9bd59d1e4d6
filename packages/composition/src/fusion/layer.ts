import {
  Linear, Module, add, dropout, mul, mulScalar, noGrad, randn, softmax, stack, sum, tensor, unsqueeze, zeros,
  type DType, type Tensor,
} from '@adapterkit/core';
import type { AdapterFusionConfig } from './config.js';

/** What one fusion layer computes: the fused output and the attention over the adapters. */
export interface FusionResult {
  /** [batch, seq, hidden]. */
  output: Tensor;
  /** Softmax weights over the fused adapters [batch, seq, n]. */
  probs: Tensor;
}

/** Python `Adapter.init_bert_weights` on a Linear: N(0, 0.02²) weight, zero bias. */
function initBert(l: Linear): void {
  noGrad(() => {
    const w = randn(l.weight.shape, { std: 0.02, dtype: l.weight.dtype });
    l.weight.assign(w);
    w.dispose();
    if (l.bias) {
      const b = zeros(l.bias.shape, { dtype: l.bias.dtype });
      l.bias.assign(b);
      b.dispose();
    }
  });
}

/**
 * One AdapterFusion layer (Python `BertFusion`), registered at a residual
 * site as `adapter_fusion_layer.<fusion name>` with children `query`,
 * `key` (Linear h→h) and `value` (Linear h→h, no bias) as the config asks —
 * or `dense` (h→1, unused, as in Python) when it asks for none of them.
 *
 * For each token, with query vector q, the fused adapters' up-projections
 * U (n × h) and the residual r:
 *   V = U (+ r with residual_before; Python adds r in place, so the keys see it too)
 *   scores = (W_q q + b_q) · (W_k V + b_k)ᵀ,  dropout on the scores while training
 *   p = softmax(scores / T)
 *   out = Σᵢ pᵢ (W_v Vᵢ)  (W_v after the sum without value_before_softmax)
 *   out += r              (unless residual_before)
 *
 * Temperature: T = 50 with `temperature`, else 1; each forward pass in
 * training mode lowers it by T₀/1000, down to 1. Unlike Python (quirk Q4),
 * evaluation passes leave it alone, so evaluating does not change later
 * outputs. T is not saved (as in Python): a reloaded fusion starts at T₀.
 */
export class AdapterFusionLayer extends Module {
  readonly query: Linear | null = null;
  readonly key: Linear | null = null;
  readonly value: Linear | null = null;
  /** Softmax temperature now. */
  T: number;
  /** Per-step decrease of T (T₀ / 1000). */
  readonly reduction: number;

  constructor(readonly config: AdapterFusionConfig, readonly hiddenSize: number, readonly dropoutProb: number, opts: { dtype?: DType } = {}) {
    super();
    const f = config.fields;
    const dtype = opts.dtype ?? 'f32';
    if (!f.query && !f.key && !f.value) this.registerModule('dense', new Linear(hiddenSize, 1, { dtype }));
    if (f.query) {
      this.query = this.registerModule('query', new Linear(hiddenSize, hiddenSize, { dtype }));
      initBert(this.query);
    }
    if (f.key) {
      this.key = this.registerModule('key', new Linear(hiddenSize, hiddenSize, { dtype }));
      initBert(this.key);
    }
    if (f.value) {
      this.value = this.registerModule('value', new Linear(hiddenSize, hiddenSize, { bias: false, dtype }));
      initBert(this.value);
      if (config.valueInitialized) {
        // Identity with 1e-6 everywhere else, so the fusion starts as a plain average of the adapters.
        noGrad(() => {
          const data = new Float32Array(hiddenSize * hiddenSize).fill(1e-6);
          for (let i = 0; i < hiddenSize; i++) data[i * hiddenSize + i] = 1;
          const w = tensor(data, [hiddenSize, hiddenSize], { dtype });
          this.value!.weight.assign(w);
          w.dispose();
        });
      }
    }
    this.T = f.temperature ? 50 : 1;
    this.reduction = this.T / 1000;
  }

  /**
   * query [b, s, h], the adapters' scaled up-projections (n × [b, s, h]) and
   * the residual [b, s, h] → the fused output and the attention weights.
   */
  forward(query: Tensor, ups: readonly Tensor[], residual: Tensor): FusionResult {
    const f = this.config.fields;
    let kv = stack(ups, 2); // [b, s, n, h]
    if (f.residual_before) kv = add(kv, unsqueeze(residual, 2));
    const q = this.query ? this.query.forward(query) : query;
    const k = this.key ? this.key.forward(kv) : kv;
    const v = this.value && f.value_before_softmax ? this.value.forward(kv) : kv;
    let scores = sum(mul(unsqueeze(q, 2), k), -1); // [b, s, n]
    scores = dropout(scores, this.dropoutProb, this.training);
    const probs = softmax(this.T === 1 ? scores : mulScalar(scores, 1 / this.T), -1);
    if (this.training) this.T = Math.max(this.T - this.reduction, 1);
    let out = sum(mul(unsqueeze(probs, -1), v), 2); // [b, s, h]
    if (this.value && !f.value_before_softmax) out = this.value.forward(out);
    if (!f.residual_before) out = add(out, residual);
    return { output: out, probs };
  }
}
