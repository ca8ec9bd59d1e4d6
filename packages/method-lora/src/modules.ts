import {
  Linear, Module, Parameter, cast, dropout, linear, matmul, mean, mul, noGrad, ones, reshape, sigmoid, sqrt, square, sum,
  tidy, zeros, type AdapterConfig, type DType, type Tensor,
} from '@adapterkit/core';
import { INIT_ROLE, assignInit, kaimingUniform, normal, uniform, type InitTarget } from './init.js';

/** Python `gating_heads` of LoRA gates (one scalar gate per example). */
const GATING_HEADS = 1;

/**
 * The gate of a gated LoRA/IA³ module (Python `nn.Linear(in, 1)`): default
 * Linear init, then weight ~ N(0, 0.02²). Names `gate.weight` / `gate.bias`.
 */
function makeGate(inFeatures: number, target: InitTarget): Linear {
  // Gates stay f32 like Python's (their Linear ignores config.dtype).
  const gate = new Linear(inFeatures, GATING_HEADS);
  const f32 = { ...target, dtype: 'f32' as const };
  assignInit(gate.weight, () => normal([GATING_HEADS, inFeatures], 0.02, f32, INIT_ROLE.gateWeight));
  assignInit(gate.bias!, () => uniform([GATING_HEADS], 1 / Math.sqrt(inFeatures), f32, INIT_ROLE.gateBias));
  return gate;
}

/**
 * Gate value per example: mean over the sequence of sigmoid(W_g x + b_g),
 * shape [batch, 1, 1] for x [batch, seq, in] (Python: mean(dim=1).unsqueeze(-1)).
 * Padding positions count in the mean, as in Python.
 */
function gateValue(gate: Linear, x: Tensor): Tensor {
  const xg = x.dtype === gate.weight.dtype ? x : cast(x, gate.weight.dtype);
  const g = sigmoid(linear(xg, gate.weight, gate.bias));
  return x.rank >= 2 ? mean(g, [1], true) : g;
}

/** DoRA magnitude `m` (Python `nn.Linear(1, out, bias=False)`): parameter `m.weight` [out, 1]. */
export class Magnitude extends Module {
  readonly weight: Parameter;
  constructor(init: Tensor) {
    super();
    this.weight = this.registerParameter('weight', new Parameter(init));
  }
}

/** Row norms ‖W‖₂ along the input dimension as [out, 1] (DoRA). */
export function rowNorms(w: Tensor): Tensor {
  return sqrt(sum(square(w), [1], true));
}

/** Common surface of the modules held in a layer's `loras` dict. */
export interface LoRALike extends Module {
  readonly kind: 'lora' | 'ia3';
  readonly config: AdapterConfig;
  readonly useGating: boolean;
  readonly useDora: boolean;
  readonly gate: Linear | null;
}

/**
 * One LoRA module at one projection: `lora_A` [r, in], `lora_B` [out, r]
 * (no `.weight` suffix, as Python), optional `gate` and DoRA `m`.
 * Δ = dropout(x)·Aᵀ·Bᵀ · alpha/r.
 */
export class LoRA extends Module implements LoRALike {
  readonly kind = 'lora' as const;
  readonly loraA: Parameter;
  readonly loraB: Parameter;
  readonly gate: Linear | null = null;
  readonly m: Magnitude | null = null;
  readonly r: number;
  readonly alpha: number;
  /** alpha / r. */
  readonly scaling: number;
  readonly dropoutP: number;
  readonly useGating: boolean;
  readonly useDora: boolean;

  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly config: AdapterConfig, target: InitTarget, baseWeight?: Tensor) {
    super();
    const r = config.get<number>('r');
    this.r = r;
    this.alpha = config.get<number>('alpha');
    this.scaling = this.alpha / r;
    this.dropoutP = config.get<number>('dropout');
    this.useGating = config.get<boolean>('use_gating');
    this.useDora = config.get<boolean>('use_dora');
    const { a, b } = initLoRA(config.get<string>('init_weights'), [r, inFeatures], [outFeatures, r], target);
    this.loraA = this.registerParameter('lora_A', new Parameter(a));
    this.loraB = this.registerParameter('lora_B', new Parameter(b));
    if (this.useDora) {
      if (!baseWeight) throw new Error('LoRA: DoRA needs the base weight to initialise its magnitude');
      // m starts at the base row norms, so W' = W0 while B A = 0.
      const init = noGrad(() => tidy(() => asDtype(rowNorms(asDtype(baseWeight, 'f32')), target.dtype)));
      this.m = this.registerModule('m', new Magnitude(init));
    }
    if (this.useGating) this.gate = this.registerModule('gate', makeGate(inFeatures, target));
  }

  /** B·A [out, in] (unscaled), computed in f32 (merges and DoRA norms). */
  deltaWeight(): Tensor {
    return matmul(asDtype(this.loraB, 'f32'), asDtype(this.loraA, 'f32'));
  }

  /**
   * dropout(h)·Aᵀ·Bᵀ without any scaling, computed in h's dtype: `dtype`
   * only sets how A and B are stored (backends need not multiply half
   * floats, and the activations decide the compute precision).
   */
  lowRank(h: Tensor): Tensor {
    const t = dropout(h, this.dropoutP, this.training);
    return linear(linear(t, asDtype(this.loraA, h.dtype)), asDtype(this.loraB, h.dtype));
  }

  /** The gate [batch, 1, 1] for layer input x (gated modules only). */
  gateOf(x: Tensor): Tensor {
    if (!this.gate) throw new Error('LoRA.gateOf: this module has no gate (use_gating is false)');
    return gateValue(this.gate, x);
  }
}

function initLoRA(scheme: string, aShape: [number, number], bShape: [number, number], t: InitTarget): { a: Tensor; b: Tensor } {
  const opts = { dtype: t.dtype, backend: t.backend };
  switch (scheme) {
    case 'lora':
      // A like nn.Linear's default (kaiming_uniform a=√5 → U(±1/√in)), B = 0: Δ = 0 at init.
      return { a: kaimingUniform(aShape, Math.sqrt(5), t, INIT_ROLE.loraA), b: zeros(bShape, opts) };
    case 'bert':
      return { a: normal(aShape, 0.02, t, INIT_ROLE.loraA), b: normal(bShape, 0.02, t, INIT_ROLE.loraB) };
    case 'ia3':
      return { a: ones(aShape, opts), b: ones(bShape, opts) };
    case 'vera':
      // kaiming_uniform with a = 0 on both (fan_in of B is r).
      return { a: kaimingUniform(aShape, 0, t, INIT_ROLE.loraA), b: kaimingUniform(bShape, 0, t, INIT_ROLE.loraB) };
    default:
      throw new Error(`LoRA: unknown init_weights '${scheme}'`);
  }
}

/**
 * One (IA)³ module: `lora_B` [out, 1], a learned per-feature scale,
 * y = (W0·x + b) ⊙ (l·alpha). Optional `gate`.
 */
export class IA3 extends Module implements LoRALike {
  readonly kind = 'ia3' as const;
  readonly loraB: Parameter;
  readonly gate: Linear | null = null;
  readonly alpha: number;
  readonly useGating: boolean;
  readonly useDora = false;

  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly config: AdapterConfig, target: InitTarget) {
    super();
    this.alpha = config.get<number>('alpha');
    this.useGating = config.get<boolean>('use_gating');
    const shape = [outFeatures, 1];
    const opts = { dtype: target.dtype, backend: target.backend };
    const scheme = config.get<string>('init_weights');
    if (scheme !== 'ia3' && scheme !== 'lora' && scheme !== 'bert') throw new Error(`IA3: init_weights '${scheme}' is not valid for (IA)³ (use 'ia3', 'lora' or 'bert')`);
    const init = scheme === 'ia3' ? ones(shape, opts)
      : scheme === 'lora' ? zeros(shape, opts) // Python allows it (with a warning): the layer outputs 0 at init
      : normal(shape, 0.02, target, INIT_ROLE.loraB);
    this.loraB = this.registerParameter('lora_B', new Parameter(init));
    if (this.useGating) this.gate = this.registerModule('gate', makeGate(inFeatures, target));
  }

  /** The scale vector l [out] in `dtype`. */
  vector(dtype: DType): Tensor {
    return asDtype(reshape(this.loraB, [this.outFeatures]), dtype);
  }

  gateOf(x: Tensor): Tensor {
    if (!this.gate) throw new Error('IA3.gateOf: this module has no gate (use_gating is false)');
    return gateValue(this.gate, x);
  }
}

/** `t` in `dtype` (a cast only when needed; the cast carries gradients). */
export function asDtype(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : cast(t, dtype);
}

/** `mul` that keeps a scalar factor of 1 free. */
export function scaleBy(t: Tensor, c: number): Tensor {
  return c === 1 ? t : mul(t, c);
}
