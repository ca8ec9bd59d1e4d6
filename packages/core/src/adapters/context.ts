import { keep } from '../backend/scope.js';
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
  /**
   * Parallel channels of this pass: N when the active setup holds a Parallel
   * block of N children and the model replicated its inputs N times (rows
   * [i·B, (i+1)·B) are channel i; `batchSize` is then N·B). 1 otherwise.
   */
  parallelChannels = 1;
  /**
   * Prompt positions inserted into the sequence in this pass (Python
   * `context.prompt_tokens_length`): set by prompt tuning at the embeddings,
   * null when no prompt was inserted. Models copy it to
   * `BaseModelOutput.promptTokensLength` so heads can pad their labels.
   */
  promptTokensLength: number | null = null;

  constructor(
    /** [batch, seq] token mask of the input (1 = token), when the model has one. */
    readonly attentionMask: Tensor | null,
    readonly batchSize: number,
    readonly seqLength: number,
  ) {}

  private readonly held: Tensor[] = [];

  /** Returns the cached value for `key`, computing it on first use. */
  cached<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  /**
   * Keeps a tensor alive until the pass ends. Values cached here are made
   * inside one layer's tidy scope and read by later layers, so they must
   * leave every scope; `end()` frees them.
   */
  hold<T extends Tensor>(t: T): T {
    this.held.push(keep(t));
    return t;
  }

  /** Frees held tensors and clears the cache; the host calls it when the pass ends. */
  end(): void {
    for (const t of this.held.splice(0)) t.dispose();
    this.cache.clear();
  }
}
