import { LinearSite, Module, add, noGrad, type AnySite, type Parameter, type SiteOwner, type Tensor } from '@adapterkit/core';
import { dequantizeMatrix, quantizeMatrix, type HostQuant, type QuantFormat } from '../formats/host-quant.js';
import { dequantizeWeight, quantMatmul } from '../ops/quant-matmul.js';
import { QuantizedWeight } from '../quantized-weight.js';

/** Where a quantized projection is an adapter insertion point (from the AdaptableLinear it replaces). */
export interface QuantSiteSpec {
  layer: number;
  location: string;
  key?: 'q' | 'k' | 'v';
}

/** What a requantization did. */
export interface RequantReport {
  /** max |W_new_dequantized − W_target| over the matrix. */
  maxAbsError: number;
  /** max |W_target − W_before| (the size of the change that was requantized). */
  maxAbsChange: number;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * A Linear whose frozen weight is stored quantized (4-bit NF4/FP4 or int8,
 * bitsandbytes layout) and multiplied by the fused dequantize-matmul kernel:
 * y = x·dequant(W)ᵀ + b. It replaces a Linear / AdaptableLinear in place
 * (same module name), keeps its f32 bias Parameter, and — when the original
 * was an insertion point — a 'linear' site with the same layer, location and
 * key, so LoRA / IA³ attach to it as before; bottleneck and prefix adapters
 * attach at other sites and are unaffected.
 *
 * State: buffers `weight` (u8 packed / i8) and the quantization state
 * (`absmax`, `quant_map`, `nested_absmax`, `nested_quant_map` for 4 bits;
 * `SCB` for 8 bits), plus the `bias` parameter. The dense weight is not a
 * property: `dequantizeWeight()` makes one on demand.
 *
 * Compute dtype is f32 (f64 on cpu-ref for gradient checks); f16/bf16 inputs
 * are computed in f32 and cast back, since no backend has half-precision
 * matmul kernels yet.
 */
export class QuantLinear extends Module implements SiteOwner {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: Parameter | null;
  /** The 'linear' insertion point, or null for a projection that was a plain Linear. */
  readonly site: LinearSite | null;
  readonly adapterSites: readonly AnySite[];
  private _quant: QuantizedWeight;

  constructor(quant: QuantizedWeight, opts: { bias?: Parameter | null; site?: QuantSiteSpec | null } = {}) {
    super();
    [this.outFeatures, this.inFeatures] = quant.shape;
    this._quant = quant;
    for (const [name, t] of quant.tensors) this.registerBuffer(name, t);
    this.bias = opts.bias ? this.registerParameter('bias', opts.bias) : null;
    if (this.bias && (this.bias.rank !== 1 || this.bias.shape[0] !== this.outFeatures)) {
      throw new Error(`QuantLinear: bias of shape [${this.bias.shape.join(', ')}] does not fit ${this.outFeatures} outputs`);
    }
    this.site = opts.site ? new LinearSite(this, opts.site.layer, opts.site.location, opts.site.key) : null;
    this.adapterSites = this.site ? [this.site] : [];
  }

  /** The quantized weight (its tensors are this module's buffers). */
  get quant(): QuantizedWeight {
    return this._quant;
  }

  /** The packed weight buffer ('weight': u8 for 4 bits, i8 for 8 bits). */
  get packedWeight(): Tensor {
    return this._quant.get('weight');
  }

  /** The frozen base projection x·dequant(W)ᵀ + b, fused (AdaptableLinear's forwardBase). */
  forwardBase(x: Tensor): Tensor {
    const y = quantMatmul(x, this._quant);
    if (!this.bias) return y;
    const out = add(y, this.bias);
    y.dispose();
    return out;
  }

  /** The base projection, then whatever adapters the active setup attaches at the site. */
  forward(x: Tensor): Tensor {
    const y = this.forwardBase(x);
    return this.site ? this.site.run(x, y) : y;
  }

  /** A dense f32 [out, in] copy of the weight on its backend (caller disposes). */
  dequantizeWeight(): Tensor {
    return dequantizeWeight(this._quant);
  }

  /**
   * Installs another quantization of the same format and shape (buffers
   * replaced in place) and returns the previous one, which is disposed
   * unless `disposePrevious` is false.
   */
  replaceQuant(next: QuantizedWeight, disposePrevious = true): QuantizedWeight {
    if (next.bits !== this._quant.bits || next.shape.join() !== this._quant.shape.join() || [...next.tensors.keys()].join() !== [...this._quant.tensors.keys()].join()) {
      throw new Error(`QuantLinear.replaceQuant: expected ${this._quant.describe()} [${this._quant.shape.join(', ')}], got ${next.describe()} [${next.shape.join(', ')}]`);
    }
    const old = this._quant;
    for (const [name, t] of next.tensors) this.registerBuffer(name, t);
    this._quant = next;
    if (disposePrevious) old.dispose();
    return old;
  }

  /** The format this layer is quantized in. */
  format(): Required<QuantFormat> {
    const q = this._quant;
    return { bits: q.bits, quantType: q.quantType ?? 'nf4', blockSize: q.bits === 4 ? q.blockSize : 64, doubleQuant: q.doubleQuant };
  }

  /**
   * Quantizes `dense` ([out, in] float, e.g. W + s·B·A after a LoRA merge) in
   * this layer's format, without installing it; reports the requantization
   * error against `dense` and the change against the current weight.
   */
  async requantize(dense: Tensor): Promise<{ quant: QuantizedWeight; report: RequantReport }> {
    if (dense.rank !== 2 || dense.shape[0] !== this.outFeatures || dense.shape[1] !== this.inFeatures) {
      throw new Error(`QuantLinear.requantize: expected [${this.outFeatures}, ${this.inFeatures}], got [${dense.shape.join(', ')}]`);
    }
    const target = Float32Array.from(await dense.data());
    const before = dequantizeMatrix(await this._quant.download());
    const q = quantizeMatrix(target, [this.outFeatures, this.inFeatures], this.format());
    const report = { maxAbsError: maxAbs(dequantizeMatrix(q), target), maxAbsChange: maxAbs(target, before) };
    return { quant: QuantizedWeight.upload(q, this._quant.backend), report };
  }

  /** Requantizes the layer to `dense` in place (see `requantize`); the previous weight is disposed. */
  async setDenseWeight(dense: Tensor): Promise<RequantReport> {
    const { quant, report } = await this.requantize(dense);
    this.replaceQuant(quant);
    return report;
  }

  /** Quantizes a host matrix into a new layer on `backend`. */
  static fromHost(q: HostQuant, opts: { bias?: Parameter | null; site?: QuantSiteSpec | null; backend?: Parameters<typeof QuantizedWeight.upload>[1] } = {}): QuantLinear {
    return noGrad(() => new QuantLinear(QuantizedWeight.upload(q, opts.backend), opts));
  }
}
