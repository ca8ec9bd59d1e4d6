import type { Tensor } from '../tensor/tensor.js';

/**
 * State of one model forward pass, shared by all sites: methods cache
 * per-pass results here (prefix key/values computed once for all layers) and
 * the model records what sites need (batch size, attention mask).
 */
export class ForwardContext {
  /** Per-pass cache for methods, keyed by a method-chosen string. */
  readonly cache = new Map<string, unknown>();
  /** Extra outputs methods report (gating scores, fusion attentions), by kind. */
  readonly outputs = new Map<string, unknown>();

  constructor(
    /** [batch, seq] token mask of the input (1 = token), when the model has one. */
    readonly attentionMask: Tensor | null,
    readonly batchSize: number,
    readonly seqLength: number,
  ) {}

  /** Returns the cached value for `key`, computing it on first use. */
  cached<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }
}
