import {
  add, concat, keep, narrow, noGrad, reshape, sub, tensor, tidy, transpose, zeros,
  type AdapterHost, type Module, type Tensor,
} from '@adapterkit/core';
import { QuantLinear } from './nn/quant-linear.js';
import { hostsOf } from './nn/replace.js';
import type { QuantizedWeight } from './quantized-weight.js';

/**
 * What method-lora's per-projection `loras` dict exposes (structurally, so
 * this package does not depend on method-lora): which adapters it holds and
 * which one is merged into the base weight (the forward pass then skips it).
 */
interface LoRALayerLike extends Module {
  has(name: string): boolean;
  merged: { name: string; weight: Tensor | null; bias: Tensor | null } | null;
}

/** One requantized projection. */
export interface MergedLayerReport {
  /** Dotted module name of the QuantLinear. */
  name: string;
  /** max |dequant(requantized) − (dequant(W) + ΔW)|: the requantization error of the weight. */
  maxAbsError: number;
  /** max |ΔW|: the size of the merged update. */
  maxAbsChange: number;
  /** Whether the bias changed too ((IA)³ scales it). */
  biasChanged: boolean;
}

/** What `mergeQuantizedAdapter` did. */
export interface MergeQuantizedReport {
  adapter: string;
  layers: MergedLayerReport[];
  /** The largest requantization error over all layers. */
  maxAbsError: number;
}

/** Options of `mergeQuantizedAdapter`. */
export interface MergeQuantizedOptions {
  /**
   * Keep each layer's original quantized weight (≈0.52 bytes per weight
   * value for NF4 with double quantization) and bias, so
   * `resetQuantizedAdapter` restores them exactly. Default true.
   */
  keepOriginal?: boolean;
  /** Input columns probed at a time (memory ≈ chunk × (in + out) floats). Default 256. */
  chunk?: number;
}

interface Original {
  quant: QuantizedWeight;
  bias: Tensor | null;
  adapter: string;
}

const originals = new WeakMap<QuantLinear, Original>();

function hostOf(model: Module): AdapterHost {
  const host = (model as Module & { adapterHost?: AdapterHost }).adapterHost ?? hostsOf(model)[0];
  if (!host) throw new Error('mergeQuantizedAdapter: the model has no adapter host (use an AdapterModel or initAdapters(model))');
  return host;
}

/** The quantized projections holding adapter `name`, with their dotted names and LoRA dicts. */
function targets(model: Module, host: AdapterHost, name: string): { module: string; layer: QuantLinear; loras: LoRALayerLike }[] {
  const names = new Map<Module, string>(model.namedModules().map(([n, m]) => [m, n]));
  const out: { module: string; layer: QuantLinear; loras: LoRALayerLike }[] = [];
  for (const site of host.sitesOf('linear')) {
    if (!(site.owner instanceof QuantLinear)) continue;
    const loras = site.owner.child<LoRALayerLike>('loras');
    if (!loras || typeof loras.has !== 'function' || !loras.has(name)) continue;
    out.push({ module: names.get(site.owner) ?? '?', layer: site.owner, loras });
  }
  return out;
}

/** Rows start … start+n of the identity matrix of size `size`, as [n, size]. */
function identityRows(size: number, start: number, n: number, like: Tensor): Tensor {
  const data = new Float32Array(n * size);
  for (let r = 0; r < n; r++) data[r * size + start + r] = 1;
  return tensor(data, [n, size], { backend: like.backend });
}

/**
 * The affine map the projection computes with adapter `name` active, as a
 * dense weight and bias: b' = f(0) and W'ᵀ[c] = f(e_c) − b', where f is the
 * base projection followed by the site's hooks; base(e_c) = W[:, c] + b is
 * read from the dequantized weight instead of multiplying by the identity.
 * Exact for every adapter that is affine in x (LoRA; (IA)³ without gating),
 * so it needs nothing from method-lora but the site.
 */
function mergedAffine(q: QuantLinear, host: AdapterHost, name: string, chunk: number): { w: Tensor; b: Tensor | null; delta: Tensor } {
  const site = q.site!;
  const out = q.outFeatures;
  const inF = q.inFeatures;
  return host.withSetup(name, () =>
    tidy(() => {
      const dense = q.dequantizeWeight();
      const bias = q.bias ?? zeros([out], { backend: dense.backend });
      const b1 = reshape(site.run(zeros([1, 1, inF], { backend: dense.backend }), reshape(bias, [1, 1, out])), [out]);
      const wt = transpose(dense); // [in, out]: row c is base(e_c) − b
      const parts: Tensor[] = [];
      for (let c0 = 0; c0 < inF; c0 += chunk) {
        const n = Math.min(chunk, inF - c0);
        const x = reshape(identityRows(inF, c0, n, dense), [1, n, inF]);
        const base = reshape(add(narrow(wt, 0, c0, n), bias), [1, n, out]);
        parts.push(sub(reshape(site.run(x, base), [n, out]), b1));
      }
      const w = transpose(concat(parts, 0)); // [out, in]
      return { w, b: q.bias ? b1 : null, delta: sub(w, dense) };
    }),
  );
}

async function maxAbs(t: Tensor): Promise<number> {
  const d = await t.data();
  let m = 0;
  for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]!));
  return m;
}

/**
 * Merges a LoRA / (IA)³ adapter into quantized base weights (Python's
 * `merge_adapter` on bitsandbytes layers: dequantize, merge, requantize).
 * For every quantized projection holding adapter `name`, W' = dequant(W) +
 * ΔW is requantized in the layer's format, and the layer's LoRA dict marks
 * the adapter as merged, so the forward pass no longer adds it. Returns each
 * layer's requantization error max |dequant(quant(W')) − W'|. Dense
 * projections are left to method-lora's `mergeAdapter`.
 *
 * Gated adapters cannot be merged (the gate depends on the input) and DoRA
 * is not supported on quantized layers (nor in Python). The model must be in
 * eval mode (no dropout). The merged weight is only as exact as the format:
 * outputs change by up to the requantization error times |x|₁.
 */
export async function mergeQuantizedAdapter(model: Module, name: string, opts: MergeQuantizedOptions = {}): Promise<MergeQuantizedReport> {
  const host = hostOf(model);
  if (!host.configs.has(name)) throw new Error(`mergeQuantizedAdapter: no adapter named '${name}'; adapters: ${host.adapterNames().join(', ') || 'none'}`);
  const config = host.methodsOf(name).find(({ config: c }) => c.architecture === 'lora')?.config;
  if (!config) throw new Error(`mergeQuantizedAdapter: adapter '${name}' is not a LoRA-family adapter; only LoRA and (IA)³ can be merged`);
  if (config.get('use_gating')) throw new Error(`mergeQuantizedAdapter: adapter '${name}' uses gating (use_gating=True): its gate depends on the input, so it cannot be merged`);
  if (config.get('use_dora')) throw new Error(`mergeQuantizedAdapter: adapter '${name}' is DoRA; merging DoRA into quantized weights is not supported (nor in Python)`);
  const layers = targets(model, host, name);
  for (const t of layers) {
    if (t.loras.merged) throw new Error(`mergeQuantizedAdapter: adapter '${t.loras.merged.name}' is already merged at ${t.module}; reset it first`);
    if (t.layer.training) throw new Error(`mergeQuantizedAdapter: ${t.module} is in training mode (dropout would make the merge random); call model.eval() first`);
  }
  const keepOriginal = opts.keepOriginal ?? true;
  const report: MergeQuantizedReport = { adapter: name, layers: [], maxAbsError: 0 };
  for (const t of layers) {
    const { w, b, delta } = noGrad(() => mergedAffine(t.layer, host, name, opts.chunk ?? 256));
    try {
      const { quant, report: r } = await t.layer.requantize(w);
      const biasBefore = t.layer.bias ? keep(tensor(await t.layer.bias.data(), [t.layer.outFeatures], { backend: t.layer.bias.backend })) : null;
      const previous = t.layer.replaceQuant(quant, !keepOriginal);
      let biasChanged = false;
      if (b && t.layer.bias) {
        biasChanged = (await maxAbs(noGrad(() => tidy(() => sub(b, t.layer.bias!))))) > 0;
        noGrad(() => void t.layer.bias!.assign(b));
      }
      if (keepOriginal) originals.set(t.layer, { quant: previous, bias: biasBefore, adapter: name });
      else biasBefore?.dispose();
      t.loras.merged = { name, weight: null, bias: null };
      report.layers.push({ name: t.module, maxAbsError: r.maxAbsError, maxAbsChange: await maxAbs(delta), biasChanged });
      report.maxAbsError = Math.max(report.maxAbsError, r.maxAbsError);
    } finally {
      w.dispose();
      b?.dispose();
      delta.dispose();
    }
  }
  return report;
}

/**
 * Undoes `mergeQuantizedAdapter` (with keepOriginal): restores each
 * layer's original quantized weight and bias exactly and clears the merged
 * mark, so the adapter runs in the forward pass again. Returns the number of
 * layers restored.
 */
export function resetQuantizedAdapter(model: Module, name?: string): number {
  const host = hostOf(model);
  let restored = 0;
  for (const site of host.sitesOf('linear')) {
    const q = site.owner;
    if (!(q instanceof QuantLinear)) continue;
    const saved = originals.get(q);
    if (!saved || (name !== undefined && saved.adapter !== name)) continue;
    q.replaceQuant(saved.quant);
    if (saved.bias && q.bias) noGrad(() => void q.bias!.assign(saved.bias!));
    saved.bias?.dispose();
    originals.delete(q);
    const loras = q.child<LoRALayerLike>('loras');
    if (loras && loras.merged?.name === saved.adapter) loras.merged = null;
    restored++;
  }
  return restored;
}
