import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CompositionBlock } from './composition.js';
import type { ForwardContext } from './context.js';

/**
 * Insertion points: fixed, named places in every model layer where adapter
 * methods attach. Model code calls the site; with no hook attached (or no
 * active adapters) the site computes exactly what the model computed before.
 *
 * - `linear`: a named projection (q, k, v, intermediate, output) — LoRA, IA³;
 * - `attention`: keys/values and mask before the softmax — prefix tuning;
 * - `residual`: a sub-layer's output, its residual input and layer norm
 *   (locations 'mh_adapter' after attention, 'output_adapter' after the FFN) — bottleneck adapters;
 * - `embeddings`: the embedding output and mask — prompt tuning, invertible adapters;
 * - `lm_head`: hidden states before the vocabulary projection — invertible adapters (reverse).
 */
export type SiteKind = 'linear' | 'attention' | 'residual' | 'embeddings' | 'lm_head';

/** What a site needs from the model's adapter host. */
export interface SiteHost {
  /** The setup active for this forward pass, or null. */
  currentSetup(): CompositionBlock | null;
  /** The current forward pass's context (null outside a model forward). */
  currentContext(): ForwardContext | null;
  /** Layers where adapters are skipped (AdapterDrop). */
  readonly skipLayers: ReadonlySet<number>;
}

/** Arguments every hook receives besides its site-specific ones. */
export interface HookEnv {
  setup: CompositionBlock;
  context: ForwardContext | null;
}

export abstract class AdapterSite<H> {
  abstract readonly kind: SiteKind;
  host: SiteHost | null = null;
  private readonly hooks: { method: string; hook: H }[] = [];

  constructor(
    /** Module that owns the site; methods register their modules as its children (Python names). */
    readonly owner: Module,
    /** Layer index, or -1 for model-level sites (embeddings, lm_head). */
    readonly layer: number,
    /** Python location key: 'selfattn' | 'intermediate' | 'output' (linear), 'mh_adapter' | 'output_adapter' (residual), 'self_prefix' (attention), 'embeddings', 'lm_head'. */
    readonly location: string,
  ) {}

  /** Attaches (or replaces) the hook of a method. */
  attach(method: string, hook: H): void {
    const existing = this.hooks.find((h) => h.method === method);
    if (existing) existing.hook = hook;
    else this.hooks.push({ method, hook });
  }

  detach(method: string): void {
    const i = this.hooks.findIndex((h) => h.method === method);
    if (i >= 0) this.hooks.splice(i, 1);
  }

  hookOf(method: string): H | undefined {
    return this.hooks.find((h) => h.method === method)?.hook;
  }

  /** The hooks to run now with their environment, or none when nothing is active here. */
  protected activeHooks(): { hooks: H[]; env: HookEnv } | null {
    if (!this.hooks.length || !this.host) return null;
    const setup = this.host.currentSetup();
    if (!setup || (this.layer >= 0 && this.host.skipLayers.has(this.layer))) return null;
    return { hooks: this.hooks.map((h) => h.hook), env: { setup, context: this.host.currentContext() } };
  }
}

/** A hook at a linear site: returns the new output, or null to leave it. */
export type LinearHook = (args: { x: Tensor; output: Tensor } & HookEnv) => Tensor | null;

/** Projection site; `key` is 'q' | 'k' | 'v' for attention projections. */
export class LinearSite extends AdapterSite<LinearHook> {
  readonly kind = 'linear' as const;
  constructor(owner: Module, layer: number, location: string, readonly key?: 'q' | 'k' | 'v') {
    super(owner, layer, location);
  }

  /** Applies attached hooks to the base projection's output. */
  run(x: Tensor, output: Tensor): Tensor {
    const active = this.activeHooks();
    if (!active) return output;
    let y = output;
    for (const hook of active.hooks) y = hook({ x, output: y, ...active.env }) ?? y;
    return y;
  }
}

/**
 * Keys/values of one attention layer as the site sees them: [batch, kvHeads,
 * keys, headDim]. The mask broadcasts to [batch, heads, queries, keys] and is
 * whatever the model uses: additive float (BERT: 0 or most-negative) or a u8
 * keep-mask (Llama: 1 = attend); null when every key is attended.
 */
export interface AttentionState {
  key: Tensor;
  value: Tensor;
  mask: Tensor | null;
}

export type AttentionHook = (args: AttentionState & { hiddenStates: Tensor } & HookEnv) => AttentionState | null;

/** Self-attention site: hooks may prepend keys/values (prefix tuning) and extend the mask. */
export class AttentionSite extends AdapterSite<AttentionHook> {
  readonly kind = 'attention' as const;
  constructor(owner: Module, layer: number, location: string, readonly numKvHeads: number, readonly headDim: number, readonly hiddenSize: number) {
    super(owner, layer, location);
  }

  run(state: AttentionState, hiddenStates: Tensor): AttentionState {
    const active = this.activeHooks();
    if (!active) return state;
    let s = state;
    for (const hook of active.hooks) s = hook({ ...s, hiddenStates, ...active.env }) ?? s;
    return s;
  }
}

/** A residual hook computes the whole sub-layer end (adapter + residual + layer norm) or returns null. */
export type ResidualHook = (args: { hidden: Tensor; residual: Tensor; layerNorm: ((x: Tensor) => Tensor) | null } & HookEnv) => Tensor | null;

/** End of a sub-layer: by default `layerNorm(hidden + residual)` (post-LN) or `hidden + residual` (pre-LN). */
export class ResidualSite extends AdapterSite<ResidualHook> {
  readonly kind = 'residual' as const;

  run(hidden: Tensor, residual: Tensor, layerNorm: ((x: Tensor) => Tensor) | null, fallback: () => Tensor): Tensor {
    const active = this.activeHooks();
    if (active) {
      for (const hook of active.hooks) {
        const out = hook({ hidden, residual, layerNorm, ...active.env });
        if (out) return out;
      }
    }
    return fallback();
  }
}

/** Embedding output and the [batch, seq] token mask (prompt tuning lengthens both). */
export interface EmbeddingState {
  hidden: Tensor;
  attentionMask: Tensor | null;
}

export type EmbeddingHook = (args: EmbeddingState & HookEnv) => EmbeddingState | null;

export class EmbeddingSite extends AdapterSite<EmbeddingHook> {
  readonly kind = 'embeddings' as const;

  run(state: EmbeddingState): EmbeddingState {
    const active = this.activeHooks();
    if (!active) return state;
    let s = state;
    for (const hook of active.hooks) s = hook({ ...s, ...active.env }) ?? s;
    return s;
  }
}

export type LmHeadHook = (args: { hidden: Tensor } & HookEnv) => Tensor | null;

/** Hidden states entering a language-model head's vocabulary projection. */
export class LmHeadSite extends AdapterSite<LmHeadHook> {
  readonly kind = 'lm_head' as const;

  run(hidden: Tensor): Tensor {
    const active = this.activeHooks();
    if (!active) return hidden;
    let h = hidden;
    for (const hook of active.hooks) h = hook({ hidden: h, ...active.env }) ?? h;
    return h;
  }
}

export type AnySite = LinearSite | AttentionSite | ResidualSite | EmbeddingSite | LmHeadSite;

/** Modules that own sites expose them here; the host finds them by walking the model. */
export interface SiteOwner {
  readonly adapterSites: readonly AnySite[];
}

export function isSiteOwner(m: unknown): m is SiteOwner {
  return Array.isArray((m as Partial<SiteOwner>).adapterSites);
}
