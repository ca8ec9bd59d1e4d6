import { keep, mulScalar, noGrad, type ResidualSite, type SiteHost, type Tensor } from '@adapterkit/core';
import { hostOf, type HostLike } from './api.js';

/**
 * Fusion attention weights of one forward pass (Python
 * `output_adapter_fusion_attentions=True`):
 * `attentions[fusionName][layer][location]` = the softmax weights over the
 * fused adapters, [batch, seq, n]. The tensors belong to the caller.
 */
export type FusionAttentions = Record<string, Record<number, Record<string, Tensor>>>;

const collectors: { host: SiteHost; attentions: FusionAttentions }[] = [];

/** Called by the Fuse evaluator: stores a copy of the weights when a collector for the site's model is open. */
export function recordFusionAttention(site: ResidualSite, fusionName: string, probs: Tensor): void {
  const c = [...collectors].reverse().find((x) => x.host === site.host);
  if (!c) return;
  const byLayer = (c.attentions[fusionName] ??= {});
  const byLocation = (byLayer[site.layer] ??= {});
  byLocation[site.location]?.dispose();
  // A detached copy that outlives the layer's tidy scope.
  byLocation[site.location] = keep(noGrad(() => mulScalar(probs, 1)));
}

/**
 * Runs `fn` (a model forward) and collects the fusion attention weights of
 * every Fuse evaluated on `model` meanwhile.
 *
 * ```ts
 * const { result, attentions } = withFusionAttentions(model, () => model.forward(inputs));
 * attentions['a,b'][0]['output_adapter'] // [batch, seq, 2]
 * ```
 */
export function withFusionAttentions<T>(model: HostLike, fn: () => T): { result: T; attentions: FusionAttentions } {
  const entry = { host: hostOf(model) as SiteHost, attentions: {} as FusionAttentions };
  collectors.push(entry);
  try {
    return { result: fn(), attentions: entry.attentions };
  } finally {
    collectors.splice(collectors.indexOf(entry), 1);
  }
}
