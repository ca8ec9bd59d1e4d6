import { tidy } from '../../backend/scope.js';
import { repeatKv, scaledDotProductAttention } from '../../ops/attention.js';
import { reshape, transpose } from '../../ops/shape.js';
import { Module } from '../../nn/module.js';
import type { Linear } from '../../nn/linear.js';
import { AttentionSite, type AnySite, type SiteOwner } from '../../adapters/sites.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KVCache } from '../types.js';
import type { LlamaConfig } from './config.js';
import { llamaLinear } from './init.js';
import { applyRotary, type RotaryAngles } from './rope.js';

/** Per-forward inputs every decoder layer shares. */
export interface LlamaLayerContext {
  /** Rotary cos/sin for the new tokens' positions. */
  angles: RotaryAngles;
  /** Keep-mask (u8) [batch or 1, 1, newLen, cachedLen + newLen]. */
  mask: Tensor;
  /** KV cache to read from and append to. */
  cache?: KVCache;
}

/**
 * Grouped-query self-attention with rotary embeddings (HF `LlamaAttention`):
 * children q_proj, k_proj, v_proj, o_proj. The steps are separate methods so
 * adapters can act on each: projections are `Linear`s ('linear' site),
 * `attend` sees the keys, values and mask right before the softmax
 * ('attention' site: prefix tuning prepends keys/values there).
 */
export class LlamaAttention extends Module implements SiteOwner {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** 'attention' site: prefix tuning prepends keys/values (KV heads, after RoPE) and widens the keep-mask. */
  readonly attentionSite: AttentionSite;
  readonly adapterSites: readonly AnySite[];

  constructor(readonly config: LlamaConfig, readonly layerIndex: number) {
    super();
    const { hiddenSize, headDim, numAttentionHeads, numKeyValueHeads, attentionBias, initializerRange: std } = config;
    this.numHeads = numAttentionHeads;
    this.numKvHeads = numKeyValueHeads;
    this.headDim = headDim;
    const site = (key: 'q' | 'k' | 'v') => ({ layer: layerIndex, location: 'selfattn', key });
    this.q_proj = this.registerModule('q_proj', llamaLinear(hiddenSize, numAttentionHeads * headDim, attentionBias, std, site('q')));
    this.k_proj = this.registerModule('k_proj', llamaLinear(hiddenSize, numKeyValueHeads * headDim, attentionBias, std, site('k')));
    this.v_proj = this.registerModule('v_proj', llamaLinear(hiddenSize, numKeyValueHeads * headDim, attentionBias, std, site('v')));
    this.o_proj = this.registerModule('o_proj', llamaLinear(numAttentionHeads * headDim, hiddenSize, attentionBias, std));
    this.attentionSite = new AttentionSite(this, layerIndex, 'self_prefix', numKeyValueHeads, headDim, hiddenSize);
    this.adapterSites = [this.attentionSite];
  }

  /** hidden [batch, len, hidden] → attention output [batch, len, hidden] (before the residual). */
  forward(hidden: Tensor, ctx: LlamaLayerContext): Tensor {
    return tidy(() => {
      const { q, k, v } = this.projectQkv(hidden);
      const layout = this.config.ropeLayout;
      const qr = applyRotary(q, ctx.angles, layout);
      const kr = applyRotary(k, ctx.angles, layout);
      const all = ctx.cache ? ctx.cache.append(this.layerIndex, kr, v) : { k: kr, v };
      const s = this.attentionSite.run({ key: all.k, value: all.v, mask: ctx.mask }, hidden);
      const context = this.attend(qr, s.key, s.value, s.mask!);
      return this.outputProjection(context);
    });
  }

  /** Projects and splits heads: q [B, H, L, D], k and v [B, Hkv, L, D]. */
  projectQkv(hidden: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    const [b, l] = hidden.shape as [number, number];
    const heads = (x: Tensor, n: number): Tensor => transpose(reshape(x, [b, l, n, this.headDim]), 1, 2);
    return {
      q: heads(this.q_proj.forward(hidden), this.numHeads),
      k: heads(this.k_proj.forward(hidden), this.numKvHeads),
      v: heads(this.v_proj.forward(hidden), this.numKvHeads),
    };
  }

  /**
   * softmax(q·kᵀ/√D + mask)·v over all keys (cached + new), with the KV heads
   * repeated for grouped-query attention. q [B, H, Lq, D], k/v [B, Hkv, Lk, D],
   * mask u8 broadcastable to [B, H, Lq, Lk] → [B, H, Lq, D].
   */
  attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor): Tensor {
    const rep = this.numHeads / this.numKvHeads;
    return scaledDotProductAttention(q, repeatKv(k, rep), repeatKv(v, rep), { mask, scale: 1 / Math.sqrt(this.headDim) });
  }

  /** Merges heads [B, H, L, D] → [B, L, H·D] and applies o_proj. */
  outputProjection(context: Tensor): Tensor {
    const [b, , l] = context.shape as [number, number, number];
    return this.o_proj.forward(reshape(transpose(context, 1, 2), [b, l, this.numHeads * this.headDim]));
  }
}
