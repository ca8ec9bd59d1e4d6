import { Module, Parameter, add, matmul, mul, reshape, sum, unsqueeze, zeros, type AdapterConfig, type Tensor } from '@adapterkit/core';
import { initNormal, initUniform, initXavierNormal, initXavierUniform, initZeros } from './init.js';

/**
 * Parameterized hypercomplex multiplication (Compacter, Python
 * `methods/modeling.py: PHMLayer`). The weight is
 *   H = Σᵢ kron(ruleᵢ, Wᵢ)            (in × out)
 * with Wᵢ = W_leftᵢ · W_rightᵢ when `factorized_phm_W`, and y = x·H + b.
 * The rule (and, with `shared_W_phm`, W) may live in the model-level shared
 * parameters (`shared_parameters.<name>.phm_rule`).
 */

/** Batched Kronecker product: a [n, p, q] ⊗ b [n, r, s] → [n, p·r, q·s] (Python `kronecker_product`). */
export function batchedKron(a: Tensor, b: Tensor): Tensor {
  const [n, p, q] = a.shape as [number, number, number];
  const [, r, s] = b.shape as [number, number, number];
  const prod = mul(unsqueeze(unsqueeze(a, -1), -3), unsqueeze(unsqueeze(b, -2), -4)); // [n, p, r, q, s]
  return reshape(prod, [n, p * r, q * s]);
}

interface PhmOptions {
  phmDim: number;
  rank: number;
  factorizedW: boolean;
  sharedW: boolean;
  sharedRule: boolean;
  factorizedRule: boolean;
  learnPhm: boolean;
  bias: boolean;
  cInit: 'normal' | 'uniform';
  wInit: string;
  initRange: number;
}

export function phmOptions(config: AdapterConfig): PhmOptions {
  const f = config.fields;
  return {
    phmDim: f.phm_dim as number,
    rank: f.phm_rank as number,
    factorizedW: f.factorized_phm_W as boolean,
    sharedW: f.shared_W_phm as boolean,
    sharedRule: f.shared_phm_rule as boolean,
    factorizedRule: f.factorized_phm_rule as boolean,
    learnPhm: f.learn_phm as boolean,
    bias: f.phm_bias as boolean,
    cInit: f.phm_c_init as 'normal' | 'uniform',
    wInit: f.hypercomplex_nonlinearity as string,
    initRange: f.phm_init_range as number,
  };
}

/**
 * Initialises a [phm_dim, rows, cols] W tensor. Quirk Q8: Python tests
 * `if hypercomplex_nonlinearity:` first, so it always uses xavier_normal.
 * Here the option is honoured: 'glorot-uniform' → xavier uniform,
 * 'glorot-normal' (and 'phm', which Python accepts without a rule of its
 * own) → xavier normal, 'normal' → N(0, phm_init_range²).
 */
export function initPhmW(w: Tensor, o: PhmOptions): void {
  if (o.wInit === 'glorot-uniform') initXavierUniform(w);
  else if (o.wInit === 'normal') initNormal(w, o.initRange);
  else initXavierNormal(w);
}

const param = (shape: number[], requiresGrad = true): Parameter => new Parameter(zeros(shape), requiresGrad);

/**
 * The parameters Compacter shares across all layers of one adapter (Python
 * `init_shared_parameters`, a ParameterDict on the base model under
 * `shared_parameters.<name>`): the rule and/or the W matrices.
 */
export class SharedPhmParameters extends Module {
  constructor(config: AdapterConfig, hiddenSize: number, bottleneckSize: number) {
    super();
    const o = phmOptions(config);
    const d = o.phmDim;
    if (o.sharedW) {
      checkDivisible(hiddenSize, d, 'hidden size');
      checkDivisible(bottleneckSize, d, 'bottleneck size');
      const inAxis = hiddenSize / d;
      const outAxis = bottleneckSize / d;
      if (o.factorizedW) {
        for (const [name, shape] of [
          ['W_down_left', [d, inAxis, o.rank]], ['W_down_right', [d, o.rank, outAxis]],
          ['W_up_left', [d, outAxis, o.rank]], ['W_up_right', [d, o.rank, inAxis]],
        ] as const) initPhmW(this.registerParameter(name, param([...shape])), o);
      } else {
        initPhmW(this.registerParameter('W_down', param([d, inAxis, outAxis])), o);
        initPhmW(this.registerParameter('W_up', param([d, outAxis, inAxis])), o);
      }
    }
    if (o.sharedRule) {
      const init = (p: Tensor): void => (o.cInit === 'normal' ? initNormal(p, o.initRange) : initUniform(p, -1, 1));
      if (o.factorizedRule) {
        init(this.registerParameter('phm_rule_left', param([d, d, 1], o.learnPhm)));
        init(this.registerParameter('phm_rule_right', param([d, 1, d], o.learnPhm)));
      } else {
        init(this.registerParameter('phm_rule', param([d, d, d], o.learnPhm)));
      }
    }
  }

  /** A shared parameter by its Python key. */
  get(name: string): Parameter {
    const p = this.namedParameters().find(([k]) => k === name)?.[1];
    if (!p) throw new Error(`Compacter shared parameters have no '${name}'`);
    return p;
  }
}

function checkDivisible(n: number, d: number, what: string): void {
  if (n % d !== 0) throw new Error(`Compacter (PHM): ${what} ${n} is not divisible by phm_dim ${d}; choose a reduction_factor or phm_dim that divides it`);
}

/** One PHM projection in × out (`adapter_down.0` / `adapter_up` of a Compacter adapter). */
export class PHMLayer extends Module {
  private readonly o: PhmOptions;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly position: 'down' | 'up',
    config: AdapterConfig,
    private readonly shared: SharedPhmParameters | null,
  ) {
    super();
    const o = (this.o = phmOptions(config));
    const d = o.phmDim;
    checkDivisible(inFeatures, d, position === 'down' ? 'hidden size (in_features)' : 'bottleneck size (in_features)');
    checkDivisible(outFeatures, d, position === 'down' ? 'bottleneck size (out_features)' : 'hidden size (out_features)');
    if ((o.sharedRule || o.sharedW) && !shared) throw new Error('PHMLayer: shared Compacter parameters are missing');
    // Registration order follows Python: rule, W, bias.
    if (!o.sharedRule) {
      const init = (p: Tensor): void => (o.cInit === 'uniform' ? initUniform(p, -0.01, 0.01) : initNormal(p, 0.01));
      if (o.factorizedRule) {
        init(this.registerParameter('phm_rule_left', param([d, d, 1], o.learnPhm)));
        init(this.registerParameter('phm_rule_right', param([d, 1, d], o.learnPhm)));
      } else {
        init(this.registerParameter('phm_rule', param([d, d, d], o.learnPhm)));
      }
    }
    if (!o.sharedW) {
      if (o.factorizedW) {
        initPhmW(this.registerParameter('W_left', param([d, inFeatures / d, o.rank])), o);
        initPhmW(this.registerParameter('W_right', param([d, o.rank, outFeatures / d])), o);
      } else {
        initPhmW(this.registerParameter('W', param([d, inFeatures / d, outFeatures / d])), o);
      }
    }
    if (o.bias) initZeros(this.registerParameter('b', param([outFeatures])));
  }

  private own(name: string): Parameter {
    return this.namedParameters().find(([k]) => k === name)![1];
  }

  /** The [phm_dim, in/phm_dim, out/phm_dim] W stack. */
  private weightStack(): Tensor {
    if (this.o.sharedW) {
      const s = this.shared!;
      const pos = this.position;
      return this.o.factorizedW ? matmul(s.get(`W_${pos}_left`), s.get(`W_${pos}_right`)) : s.get(`W_${pos}`);
    }
    return this.o.factorizedW ? matmul(this.own('W_left'), this.own('W_right')) : this.own('W');
  }

  /** The [phm_dim, phm_dim, phm_dim] rule. */
  private rule(): Tensor {
    const src = (name: string): Parameter => (this.o.sharedRule ? this.shared!.get(name) : this.own(name));
    return this.o.factorizedRule ? matmul(src('phm_rule_left'), src('phm_rule_right')) : src('phm_rule');
  }

  /** The full [in, out] weight H. */
  weight(): Tensor {
    return sum(batchedKron(this.rule(), this.weightStack()), 0);
  }

  /** x (…, in) → (…, out). */
  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight());
    return this.o.bias ? add(y, this.own('b')) : y;
  }
}
