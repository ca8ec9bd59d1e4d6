import type { AdapterHost } from '@adapterkit/core';

/**
 * How the LoRA family behaves where the Python library has quirks:
 *
 * - `'adapterkit'` (default), the mathematically consistent behaviour:
 *   `Stack` applies each adapter to the projection in turn (LoRA deltas add
 *   up: y = W0x + b + Σ sᵢBᵢAᵢx; (IA)³ scales multiply); a gate multiplies
 *   the alpha/r-scaled delta; DoRA normalises W0 + s·BA and leaves the bias
 *   alone (as the DoRA paper and PEFT), so merged equals unmerged.
 * - `'python'`, bit-for-bit the semantics of `adapters` 1.2/1.3, to reproduce
 *   Python-trained setups: stacked LoRAs chain (the second gets the first's
 *   delta as input, quirk Q11); a gate replaces alpha/r (Q10); DoRA's norm
 *   uses the unscaled BA (Q13) and the bias is scaled too; a merged layer
 *   skips every adapter.
 *
 * Single, ungated LoRA and (IA)³ adapters are the same in both.
 */
export type LoRASemantics = 'adapterkit' | 'python';

const chosen = new WeakMap<object, LoRASemantics>();

/** A model with an adapter host, or the host itself. */
export type HostLike = AdapterHost | { readonly adapterHost: AdapterHost };

/** The host of a model (initAdapters / AdapterModel) or the host itself. */
export function resolveHost(target: HostLike): AdapterHost {
  const host = 'adapterHost' in target && target.adapterHost ? target.adapterHost : (target as AdapterHost);
  if (!host || typeof (host as Partial<AdapterHost>).sitesOf !== 'function') {
    throw new Error('method-lora: expected a model with adapters (initAdapters(model)) or an AdapterHost');
  }
  return host;
}

/** Chooses the LoRA semantics of one model (see `LoRASemantics`). */
export function setLoRASemantics(target: HostLike, semantics: LoRASemantics): void {
  if (semantics !== 'adapterkit' && semantics !== 'python') throw new Error(`setLoRASemantics: expected 'adapterkit' or 'python', got '${String(semantics)}'`);
  chosen.set(resolveHost(target), semantics);
}

/** The LoRA semantics of a model ('adapterkit' unless set). */
export function loraSemanticsOf(host: object | null | undefined): LoRASemantics {
  return (host && chosen.get(host)) || 'adapterkit';
}
