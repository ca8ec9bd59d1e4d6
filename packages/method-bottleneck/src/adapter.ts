import {
  Dropout, LayerNorm, Linear, Module, Parameter, Sequential, add, mean, mul, mulScalar, ones, sigmoid, unsqueeze,
  type AdapterConfig, type Tensor, type UnaryModule,
} from '@adapterkit/core';
import { Activation } from './activations.js';
import { DropPath } from './drop-path.js';
import { initKaimingUniformSqrt5, initNormal, initTruncNormal, initZeros, withInitSeed } from './init.js';
import { PHMLayer, type SharedPhmParameters } from './phm.js';

/** The model's own layer norm at a residual site (null for pre-LN models such as Llama). */
export type LayerNormFn = ((x: Tensor) => Tensor) | null;

/** What `preForward` hands to the adapter: its input and the residual its output is added to. */
export interface PreForwardResult {
  hidden: Tensor;
  residual: Tensor;
}

/** What `forward` returns: the output, the bottleneck activation, and the scaled up-projection (fusion uses it). */
export interface AdapterForwardResult {
  output: Tensor;
  down: Tensor;
  up: Tensor;
  /** The [batch, 1, 1] gate, when `use_gating`. */
  gate?: Tensor;
}

/** The bottleneck size for a hidden size and reduction factor: ⌊h / rf⌋, at least 1 (Python `int(h // rf)`). */
export function bottleneckSize(hiddenSize: number, reductionFactor: number): number {
  return Math.max(1, Math.floor(hiddenSize / reductionFactor));
}

/**
 * A sequential bottleneck adapter (Python `methods/modeling.py: Adapter`).
 * Children and parameters carry Python's names: `adapter_down` (a Sequential
 * of [LayerNorm], Linear or PHMLayer, activation), `adapter_up`, `scaling`
 * ('learned' [1] / 'channel' [h]), `adapter_norm_before` (the same LayerNorm
 * as `adapter_down.0`), `adapter_norm_after`, `gate` (Linear h→1).
 *
 * The three steps mirror Python exactly (REFERENCE §1.4 "Exact bottleneck
 * math"): `preForward` (residual and the model's LN before the adapter),
 * `forward` (the bottleneck and its own residual), `postForward` (the model's
 * residual and LN after).
 */
export class BottleneckAdapter extends Module {
  readonly inputSize: number;
  readonly downSample: number;
  readonly adapterDown: Sequential;
  readonly adapterUp: Linear | PHMLayer;
  readonly adapterNormBefore: LayerNorm | null = null;
  readonly adapterNormAfter: LayerNorm | null = null;
  readonly gate: Linear | null = null;
  readonly scalingParam: Parameter | null = null;
  readonly scalingConst: number;
  readonly dropout: Dropout;
  readonly dropPath: DropPath | null = null;
  readonly residualBeforeLn: boolean | 'post_add';
  readonly adapterResidualBeforeLn: boolean;
  readonly originalLnBefore: boolean;
  readonly originalLnAfter: boolean;
  readonly useGating: boolean;

  constructor(readonly adapterName: string, inputSize: number, downSample: number, readonly config: AdapterConfig, shared: SharedPhmParameters | null = null) {
    super();
    const f = config.fields;
    this.inputSize = inputSize;
    this.downSample = Math.max(1, downSample);
    this.residualBeforeLn = f.residual_before_ln as boolean | 'post_add';
    this.adapterResidualBeforeLn = f.adapter_residual_before_ln as boolean;
    this.originalLnBefore = f.original_ln_before as boolean;
    this.originalLnAfter = f.original_ln_after as boolean;
    this.useGating = f.use_gating as boolean;
    const phm = f.phm_layer as boolean;
    const init = f.init_weights as string;
    if (phm && init !== 'bert') {
      // Python fails here too (it reads `.weight` of the PHM layer).
      throw new Error(`bottleneck adapter '${adapterName}': init_weights '${init}' cannot initialise PHM (Compacter) layers; use init_weights 'bert'`);
    }

    // Modules are built and initialised under the config's seed, so every layer gets the same start (Python fix_seed).
    const built = withInitSeed(f.init_weights_seed as number | null, () => {
      const seq: UnaryModule[] = [];
      let normBefore: LayerNorm | null = null;
      if (f.ln_before) {
        normBefore = this.registerModule('adapter_norm_before', new LayerNorm(inputSize));
        seq.push(normBefore);
      }
      seq.push(phm ? new PHMLayer(inputSize, this.downSample, 'down', config, shared) : new Linear(inputSize, this.downSample));
      seq.push(new Activation(f.non_linearity as string | null));
      const down = this.registerModule('adapter_down', new Sequential(...seq));
      const up = this.registerModule('adapter_up', phm ? new PHMLayer(this.downSample, inputSize, 'up', config, shared) : new Linear(this.downSample, inputSize));
      let scalingParam: Parameter | null = null;
      if (f.scaling === 'learned') scalingParam = this.registerParameter('scaling', new Parameter(ones([1])));
      else if (f.scaling === 'channel') scalingParam = this.registerParameter('scaling', new Parameter(ones([inputSize])));
      const normAfter = f.ln_after ? this.registerModule('adapter_norm_after', new LayerNorm(inputSize)) : null;
      const gate = this.useGating ? this.registerModule('gate', new Linear(inputSize, 1)) : null;
      initAdapterWeights(init, down, up, gate);
      return { down, up, normBefore, normAfter, gate, scalingParam };
    });
    this.adapterDown = built.down;
    this.adapterUp = built.up;
    this.adapterNormBefore = built.normBefore;
    this.adapterNormAfter = built.normAfter;
    this.gate = built.gate;
    this.scalingParam = built.scalingParam;
    this.scalingConst = typeof f.scaling === 'number' ? f.scaling : 1;
    this.dropout = this.registerModule('dropout', new Dropout(f.dropout as number));
    const sd = f.stochastic_depth as number;
    if (sd > 0) this.dropPath = this.registerModule('DropPath', new DropPath(sd));
  }

  /**
   * Python `Adapter.pre_forward(h, x, LN)`: the adapter's input and residual.
   * `h` is the sub-layer output, `x` its residual input, `ln` the model's LN.
   */
  preForward(h: Tensor, x: Tensor | null, ln: LayerNormFn): PreForwardResult {
    let residual: Tensor | undefined = this.residualBeforeLn === true ? h : undefined;
    let hidden = h;
    if (this.originalLnBefore && x) {
      hidden = add(h, x);
      // 'post_add' takes the residual after the add, before the LN (pre-LN models have no LN: same point).
      if (this.residualBeforeLn === 'post_add') residual = hidden;
      if (ln) hidden = ln(hidden);
    }
    if (!this.residualBeforeLn) residual = hidden;
    if (!residual) {
      throw new Error(`bottleneck adapter '${this.adapterName}': residual_before_ln='post_add' needs original_ln_before=True (Python fails with an unbound residual)`);
    }
    return { hidden, residual };
  }

  /** Scales the up-projection: a constant, or the learned 'scaling' parameter (broadcast over the last axis). */
  protected scale(up: Tensor): Tensor {
    if (this.scalingParam) return mul(up, this.scalingParam);
    return this.scalingConst === 1 ? up : mulScalar(up, this.scalingConst);
  }

  /** Multiplies by the gate mean_seq(sigmoid(W_g·x)) of shape [batch, 1, 1]. */
  protected applyGate(out: Tensor, x: Tensor): { out: Tensor; gate?: Tensor } {
    if (!this.gate) return { out };
    const g = unsqueeze(mean(sigmoid(this.gate.forward(x)), 1), -1);
    return { out: mul(out, g), gate: g };
  }

  /** Python `Adapter.forward(x, residual_input)`. */
  forward(x: Tensor, residual: Tensor): AdapterForwardResult {
    const down = this.adapterDown.forward(x);
    let up = this.adapterUp.forward(down);
    if (this.dropPath) up = this.dropPath.forward(up);
    up = this.scale(up);
    const gated = this.applyGate(this.dropout.forward(up), x);
    let out = gated.out;
    if (this.adapterResidualBeforeLn) out = add(out, residual);
    if (this.adapterNormAfter) out = this.adapterNormAfter.forward(out);
    if (!this.adapterResidualBeforeLn) out = add(out, residual);
    return { output: out, down, up, gate: gated.gate };
  }

  /**
   * Python `Adapter.post_forward(out, h, x, LN)`: with `original_ln_after`,
   * LN(out + x) (or out + x without an LN).
   */
  postForward(out: Tensor, _inputHidden: Tensor, x: Tensor | null, ln: LayerNormFn): Tensor {
    if (!this.originalLnAfter || !x) return out;
    const y = add(out, x);
    return ln ? ln(y) : y;
  }
}

/**
 * A parallel bottleneck adapter (Python `ParallelAdapter`, He et al. 2021):
 * it reads the sub-layer *input* x, adds no residual itself, and
 * postForward gives LN(out + h + x). Stochastic depth is not applied (as in Python).
 */
export class ParallelBottleneckAdapter extends BottleneckAdapter {
  override preForward(_h: Tensor, x: Tensor | null, _ln: LayerNormFn): PreForwardResult {
    if (!x) throw new Error(`parallel adapter '${this.adapterName}' needs the sub-layer's residual input`);
    return { hidden: x, residual: x };
  }

  override forward(x: Tensor, _residual: Tensor): AdapterForwardResult {
    const down = this.adapterDown.forward(x);
    const up = this.scale(this.adapterUp.forward(down));
    const gated = this.applyGate(this.dropout.forward(up), x);
    let out = gated.out;
    if (this.adapterNormAfter) out = this.adapterNormAfter.forward(out);
    return { output: out, down, up, gate: gated.gate };
  }

  override postForward(out: Tensor, inputHidden: Tensor, x: Tensor | null, ln: LayerNormFn): Tensor {
    const y = add(out, inputHidden);
    return super.postForward(y, inputHidden, x, ln);
  }
}

/** Python's `init_bert_weights` on Linear layers: N(0, 0.02²) weights, zero bias. */
function initBert(m: Module): void {
  if (m instanceof Linear) {
    initNormal(m.weight, 0.02);
    if (m.bias) initZeros(m.bias);
  }
}

function linearsOf(seq: Sequential): Linear[] {
  return [...seq].filter((m): m is Linear => m instanceof Linear);
}

/** The `init_weights` strategies: 'bert', 'mam_adapter' (zero up-projection), 'houlsby' (truncated normal). */
function initAdapterWeights(init: string, down: Sequential, up: Linear | PHMLayer, gate: Linear | null): void {
  if (init === 'bert') {
    down.apply(initBert);
    up.apply(initBert);
    if (gate) initBert(gate);
  } else if (init === 'mam_adapter') {
    for (const l of linearsOf(down)) {
      initKaimingUniformSqrt5(l.weight);
      if (l.bias) initZeros(l.bias);
    }
    const lin = up as Linear;
    initZeros(lin.weight);
    if (lin.bias) initZeros(lin.bias);
    if (gate) initBert(gate);
  } else if (init === 'houlsby') {
    for (const l of [...linearsOf(down), up as Linear]) {
      initTruncNormal(l.weight, 0, 1e-2, -2e-2, 2e-2);
      if (l.bias) initZeros(l.bias);
    }
  } else {
    throw new Error(`bottleneck adapter: unknown init_weights '${init}'; valid: bert, mam_adapter, houlsby`);
  }
}
