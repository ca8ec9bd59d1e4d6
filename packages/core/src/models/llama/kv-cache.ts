import { keep } from '../../backend/scope.js';
import { ShapeError, formatShape } from '../../errors.js';
import { concat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { KVCache } from '../types.js';

/**
 * Dynamic key/value cache of a decoder (HF `DynamicCache`): per layer, keys
 * and values [batch, numKvHeads, cachedLen, headDim] grow by concatenation.
 * Cached tensors are kept out of tidy scopes and owned here: a generation
 * loop running each step in `tidy` keeps exactly one copy per layer, so
 * memory grows only with the cached length. `dispose()` frees them.
 *
 * Keys are stored after rotary embedding, so cached positions never need
 * recomputing.
 */
export class LlamaKVCache implements KVCache {
  private readonly keys: (Tensor | undefined)[];
  private readonly values: (Tensor | undefined)[];

  constructor(readonly numLayers: number) {
    this.keys = new Array<Tensor | undefined>(numLayers);
    this.values = new Array<Tensor | undefined>(numLayers);
  }

  /** Tokens cached so far (layer 0's count; all layers agree between forward passes). */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /** The cached keys and values of a layer, if any (live tensors: do not dispose). */
  get(layer: number): { k: Tensor; v: Tensor } | null {
    const k = this.keys[layer];
    const v = this.values[layer];
    return k && v ? { k, v } : null;
  }

  /**
   * Appends new keys/values [batch, numKvHeads, newLen, headDim] of `layer`
   * and returns all of them. Takes ownership of `k` and `v` (they may be
   * disposed); the returned tensors belong to the cache.
   */
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) {
      throw new RangeError(`LlamaKVCache.append: layer ${layer} out of range [0, ${this.numLayers})`);
    }
    if (k.rank !== 4 || v.rank !== 4) throw new ShapeError(`LlamaKVCache.append: keys ${formatShape(k.shape)} and values ${formatShape(v.shape)} must be [batch, heads, len, headDim]`);
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    if (!oldK || !oldV) {
      this.keys[layer] = keep(k);
      this.values[layer] = keep(v);
      return { k, v };
    }
    if (oldK.shape[0] !== k.shape[0] || oldK.shape[1] !== k.shape[1] || oldK.shape[3] !== k.shape[3]) {
      throw new ShapeError(`LlamaKVCache.append: layer ${layer} caches keys ${formatShape(oldK.shape)}, cannot append ${formatShape(k.shape)}`);
    }
    const nk = keep(concat([oldK, k], 2));
    const nv = keep(concat([oldV, v], 2));
    // Gradient links survive disposal (the tape holds the nodes), so freeing the pieces is safe.
    for (const t of [oldK, oldV, k, v]) t.dispose();
    this.keys[layer] = nk;
    this.values[layer] = nv;
    return { k: nk, v: nv };
  }

  /** Frees every cached tensor; the cache is empty (and reusable) afterwards. */
  dispose(): void {
    for (let i = 0; i < this.numLayers; i++) {
      this.keys[i]?.dispose();
      this.values[i]?.dispose();
      this.keys[i] = undefined;
      this.values[i] = undefined;
    }
  }
}
