import { add, cast, div, isFloat, keep, mul, noGrad, reshape, sub, tidy, type AdapterHost, type Tensor } from '@adapterkit/core';
import { doraDirection, doraScale } from './dora.js';
import { LORA_ARCHITECTURE } from './config.js';
import { layerOf, type LoRALayer } from './layer.js';
import { IA3, asDtype, scaleBy, type LoRA, type LoRALike } from './modules.js';
import { loraSemanticsOf, resolveHost, type HostLike, type LoRASemantics } from './semantics.js';

/** Options of `mergeAdapter`. */
export interface MergeOptions {
  /**
   * Keep the original weights (sharing their storage, no copy is made) so
   * `resetAdapter` restores them exactly, even after the adapter was trained
   * further or an (IA)³ scale is 0. Costs one extra weight per merged
   * projection while merged. With false, reset subtracts / divides the
   * adapter back out (as Python). DoRA always keeps the original. Default true.
   */
  keepOriginal?: boolean;
}

/** Every LoRA layer of a model, in model order. */
export function loraLayers(host: AdapterHost): LoRALayer[] {
  return host.sitesOf('linear').map(layerOf).filter((l): l is LoRALayer => l !== undefined);
}

/**
 * A second handle on a tensor's storage that outlives tidy scopes: a reshape
 * to the same shape is a view (no copy) of a contiguous tensor, and tensors
 * are immutable (assign swaps storage), so it keeps the current values.
 */
function hold(t: Tensor): Tensor {
  return keep(noGrad(() => reshape(t, t.shape)));
}

/** `t` as [out, 1] for row-wise scaling. */
const column = (t: Tensor, out: number): Tensor => reshape(t, [out, 1]);

/**
 * The weight (and bias, when it changes) that computes what the forward pass
 * computes with the adapter active, so merged and unmerged outputs agree.
 */
function mergedWeights(m: LoRALike, weight: Tensor, bias: Tensor | null, semantics: LoRASemantics): { w: Tensor; b: Tensor | null } {
  const wd = weight.dtype;
  if (m instanceof IA3) {
    // (W x + b) ⊙ v = (diag(v) W) x + v ⊙ b: the rows AND the bias (Python leaves the bias, quirk Q12).
    const v = scaleBy(m.vector('f32'), m.alpha);
    const w = cast(mul(cast(weight, 'f32'), column(v, m.outFeatures)), wd);
    return { w, b: bias ? cast(mul(cast(bias, 'f32'), v), bias.dtype) : null };
  }
  const lora = m as LoRA;
  if (!lora.useDora) return { w: asDtype(add(asDtype(weight, 'f32'), scaleBy(lora.deltaWeight(), lora.scaling)), wd), b: null };
  const direction = doraDirection(lora, weight, lora.scaling);
  if (semantics === 'adapterkit') return { w: cast(mul(direction, doraScale(lora, weight, lora.scaling)), wd), b: null };
  // Python semantics scale the bias too and use the unscaled BA in the norm (see compose.ts finishPython).
  const ns = doraScale(lora, weight, 1);
  return {
    w: cast(mul(direction, ns), wd),
    b: bias ? cast(mul(cast(bias, 'f32'), reshape(ns, [lora.outFeatures])), bias.dtype) : null,
  };
}

/** The inverse of `mergedWeights` for LoRA and (IA)³ (reset without a kept original). */
function unmergedWeights(m: LoRALike, weight: Tensor, bias: Tensor | null): { w: Tensor; b: Tensor | null } {
  const wd = weight.dtype;
  if (m instanceof IA3) {
    const v = scaleBy(m.vector('f32'), m.alpha);
    const w = cast(div(cast(weight, 'f32'), column(v, m.outFeatures)), wd);
    return { w, b: bias ? cast(div(cast(bias, 'f32'), v), bias.dtype) : null };
  }
  const lora = m as LoRA;
  return { w: asDtype(sub(asDtype(weight, 'f32'), scaleBy(lora.deltaWeight(), lora.scaling)), wd), b: null };
}

function install(layer: LoRALayer, next: { w: Tensor; b: Tensor | null }): void {
  const { weight, bias } = layer.linear;
  weight.assign(next.w);
  next.w.dispose();
  if (next.b && bias) {
    bias.assign(next.b);
    next.b.dispose();
  }
}

function mergeLayer(layer: LoRALayer, name: string, semantics: LoRASemantics, keepOriginal: boolean): void {
  const m = layer.get(name)!;
  const { weight, bias } = layer.linear;
  const keepIt = keepOriginal || m.useDora;
  noGrad(() => {
    const saved = keepIt ? { weight: hold(weight), bias: bias ? hold(bias) : null } : { weight: null, bias: null };
    install(layer, tidy(() => mergedWeights(m, weight, bias, semantics)));
    layer.merged = { name, ...saved };
  });
}

function resetLayer(layer: LoRALayer): void {
  const merged = layer.merged;
  if (!merged) return;
  const { weight, bias } = layer.linear;
  if (!weight) throw new Error(`resetAdapter (${layer.describe()}): the projection is quantized; use resetQuantizedAdapter(model) from @adapterkit/quant`);
  noGrad(() => {
    if (merged.weight) {
      weight.assign(merged.weight);
      merged.weight.dispose();
      if (merged.bias && bias) bias.assign(merged.bias);
      merged.bias?.dispose();
    } else {
      const m = layer.get(merged.name);
      if (!m) throw new Error(`resetAdapter (${layer.describe()}): merged adapter '${merged.name}' no longer exists and no original was kept`);
      install(layer, tidy(() => unmergedWeights(m, weight, bias)));
    }
  });
  layer.merged = null;
}

/**
 * Folds one LoRA / (IA)³ / DoRA adapter into the base weights of every
 * projection it adapts (Python `model.merge_adapter(name)`): W ← W + s·B·A;
 * (IA)³ scales the rows and the bias; DoRA writes m·(W + sBA)/‖W + sBA‖.
 * While merged, the forward pass does not add the adapter again, so outputs
 * are unchanged (up to rounding). Merging the same adapter again is a no-op;
 * merging another while one is merged, or a gated adapter, is an error.
 * Everything is checked before any weight changes.
 */
export function mergeAdapter(target: HostLike, name: string, opts: MergeOptions = {}): void {
  const host = resolveHost(target);
  checkLoRAAdapter(host, name, 'mergeAdapter');
  const layers = loraLayers(host).filter((l) => l.has(name));
  for (const l of layers) {
    const m = l.get(name)!;
    if (m.useGating) throw new Error(`mergeAdapter: adapter '${name}' uses gating (use_gating=True): its gate depends on the input, so it cannot be merged (${l.describe()})`);
    if (l.merged && l.merged.name !== name) {
      throw new Error(`mergeAdapter: adapter '${l.merged.name}' is already merged at ${l.describe()}; call resetAdapter() before merging '${name}'`);
    }
    // Quantized projections (@adapterkit/quant QuantLinear) have no dense weight: merging requantizes, asynchronously.
    if (!l.linear.weight) throw new Error(`mergeAdapter: the projection at ${l.describe()} is quantized; use mergeQuantizedAdapter(model, '${name}') from @adapterkit/quant (dequantize, merge, requantize)`);
    if (!isFloat(l.linear.weight.dtype)) throw new Error(`mergeAdapter: the weight at ${l.describe()} is ${l.linear.weight.dtype}; only float weights can be merged`);
  }
  const semantics = loraSemanticsOf(host);
  for (const l of layers) if (!l.merged) mergeLayer(l, name, semantics, opts.keepOriginal ?? true);
}

/**
 * Restores the weights of every projection where an adapter is merged
 * (Python `model.reset_adapter()`), or only where `name` is merged.
 */
export function resetAdapter(target: HostLike, name?: string): void {
  const host = resolveHost(target);
  if (name !== undefined) checkLoRAAdapter(host, name, 'resetAdapter');
  for (const l of loraLayers(host)) if (l.merged && (name === undefined || l.merged.name === name)) resetLayer(l);
}

/** Which adapter is merged where: one entry per merged projection. */
export function mergedAdapters(target: HostLike): { name: string; layer: number; location: string; key?: string }[] {
  return loraLayers(resolveHost(target))
    .filter((l) => l.merged)
    .map((l) => ({ name: l.merged!.name, layer: l.site.layer, location: l.site.location, ...(l.site.key ? { key: l.site.key } : {}) }));
}

/** Restores a layer before its merged adapter is deleted (method.deleteAdapter). */
export function resetLayerIfMerged(layer: LoRALayer, name: string): void {
  if (layer.merged?.name === name) resetLayer(layer);
}

function checkLoRAAdapter(host: AdapterHost, name: string, what: string): void {
  if (!host.configs.has(name)) throw new Error(`${what}: no adapter named '${name}'; adapters: ${host.adapterNames().join(', ') || 'none'}`);
  const archs = host.methodsOf(name).map(({ config }) => config.architecture ?? 'bottleneck');
  if (!archs.includes(LORA_ARCHITECTURE)) throw new Error(`${what}: adapter '${name}' is not a LoRA-family adapter (architecture ${archs.join(', ')}); only LoRA, (IA)³ and DoRA can be merged`);
}
