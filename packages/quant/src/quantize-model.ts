import { AdaptableLinear, Linear, bytesPerElement, isFloat, type Module, type Parameter } from '@adapterkit/core';
import { dequantizeMatrix, quantizeMatrix, resolveFormat, type QuantFormat } from './formats/host-quant.js';
import { QuantLinear, type QuantSiteSpec } from './nn/quant-linear.js';
import { hostsOf, parentOf, replaceChild, swapSite } from './nn/replace.js';
import { QuantizedWeight } from './quantized-weight.js';

/** Options of `quantizeModel`. */
export interface QuantizeModelOptions extends QuantFormat {
  /**
   * Modules kept in full precision, matched against dotted module names: an
   * entry matches a name equal to it, ending in `.entry`, or containing it as
   * a run of whole segments (`'lm_head'`, `'heads'`, `'mlp.down_proj'`).
   * Default `['lm_head', 'heads']` (prediction heads stay trainable, as
   * bitsandbytes' default keeps `lm_head`).
   */
  skip?: string[];
  /** Report each layer's max |W − dequant(quant(W))| (default true; costs one host dequantization per layer). */
  measureError?: boolean;
}

/** One quantized layer. */
export interface QuantizedLayerReport {
  name: string;
  /** [out, in]. */
  shape: [number, number];
  /** 'nf4 b64 dq', 'fp4 b128', 'int8'. */
  format: string;
  /** The dense weight's bytes before. */
  bytesBefore: number;
  /** Codes + scales + code tables after. */
  bytesAfter: number;
  /** max |W − dequant(quant(W))|, when measured. */
  maxAbsError?: number;
  /** 'layer 0 selfattn.q' when the layer is an adapter insertion point. */
  site?: string;
}

/** What `quantizeModel` did. */
export interface QuantizeReport {
  layers: QuantizedLayerReport[];
  /** Linear layers left in full precision, with the reason. */
  skipped: { name: string; reason: string }[];
  /** Dense-weight bytes of the quantized layers before, and their quantized bytes after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Number of weight values quantized. */
  params: number;
}

/** Whether a skip entry matches a dotted module name (whole segments). */
export function matchesSkip(name: string, entry: string): boolean {
  return name === entry || name.endsWith(`.${entry}`) || name.startsWith(`${entry}.`) || name.includes(`.${entry}.`);
}

/** Parameters a module owns directly (not its children's). */
function ownParameters(m: Module): Parameter[] {
  return m.namedParameters().filter(([n]) => !n.includes('.')).map(([, p]) => p);
}

/**
 * Replaces every Linear / AdaptableLinear of `model` (except skipped names
 * and weights shared with another module, e.g. a tied LM head) by a
 * `QuantLinear` holding the weight in the given format, in place: same
 * module names, the f32 bias kept, insertion points kept (the model's
 * adapter host is updated). Quantization runs on the host, one layer at a
 * time (weights are read back, quantized, uploaded to the same backend and
 * the dense weight disposed), so peak memory is the model plus one layer.
 *
 * Quantize before adding LoRA / IA³ adapters (as bitsandbytes models are
 * quantized at load): a projection that already has adapter modules is an
 * error. Bottleneck and prefix adapters may exist already.
 */
export async function quantizeModel(model: Module, opts: QuantizeModelOptions): Promise<QuantizeReport> {
  const format = resolveFormat(opts, 'quantizeModel');
  const skip = opts.skip ?? ['lm_head', 'heads'];
  const measure = opts.measureError ?? true;
  const report: QuantizeReport = { layers: [], skipped: [], bytesBefore: 0, bytesAfter: 0, params: 0 };

  // Who owns each parameter: a weight owned by two modules is tied and stays dense.
  const owners = new Map<Parameter, number>();
  for (const [, m] of model.namedModules()) for (const p of ownParameters(m)) owners.set(p, (owners.get(p) ?? 0) + 1);

  const todo: [string, Linear][] = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    if (skip.some((s) => matchesSkip(name, s))) {
      report.skipped.push({ name, reason: 'skip list' });
    } else if ((owners.get(m.weight) ?? 0) > 1) {
      report.skipped.push({ name, reason: 'weight tied to another module' });
    } else if (!isFloat(m.weight.dtype)) {
      report.skipped.push({ name, reason: `weight is ${m.weight.dtype}` });
    } else {
      const kids = m.namedChildren().map(([k]) => k);
      if (kids.length) throw new Error(`quantizeModel: '${name}' already has adapter modules (${kids.join(', ')}); quantize the base model before adding LoRA/IA³ adapters`);
      todo.push([name, m]);
    }
  }

  const hosts = hostsOf(model);
  for (const [name, lin] of todo) {
    const [out, inF] = lin.weight.shape as [number, number];
    const values = (await lin.weight.data()) as Float32Array;
    const q = quantizeMatrix(values, [out, inF], format);
    const site: QuantSiteSpec | null = lin instanceof AdaptableLinear ? { layer: lin.site.layer, location: lin.site.location, ...(lin.site.key ? { key: lin.site.key } : {}) } : null;
    const next = new QuantLinear(QuantizedWeight.upload(q, lin.weight.backend), { bias: lin.bias, site });
    next.training = lin.training;
    const { parent, name: local } = parentOf(model, name);
    replaceChild(parent, local, lin, next);
    if (lin instanceof AdaptableLinear && next.site) swapSite(hosts, lin.site, next.site);
    const bytesBefore = lin.weight.size * bytesPerElement(lin.weight.dtype);
    lin.weight.grad?.dispose();
    lin.weight.dispose();
    const layer: QuantizedLayerReport = { name, shape: [out, inF], format: next.quant.describe(), bytesBefore, bytesAfter: next.quant.bytes };
    if (measure) {
      const back = dequantizeMatrix(q);
      let err = 0;
      for (let i = 0; i < back.length; i++) err = Math.max(err, Math.abs(back[i]! - values[i]!));
      layer.maxAbsError = err;
    }
    if (site) layer.site = `layer ${site.layer} ${site.location}${site.key ? `.${site.key}` : ''}`;
    report.layers.push(layer);
    report.bytesBefore += bytesBefore;
    report.bytesAfter += layer.bytesAfter;
    report.params += out * inF;
  }
  return report;
}

/** Every QuantLinear of a model with its dotted name. */
export function quantizedLayers(model: Module): [string, QuantLinear][] {
  return model.namedModules().filter((e): e is [string, QuantLinear] => e[1] instanceof QuantLinear);
}
