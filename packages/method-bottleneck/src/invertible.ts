import {
  Linear, Module, Sequential, add, concat, div, exp, mul, mulScalar, narrow, sqrt, square, sub, type Tensor,
} from '@adapterkit/core';
import { Activation } from './activations.js';
import { initNormal, initZeros } from './init.js';

/**
 * Invertible adapters (MAD-X language adapters, Python
 * `methods/modeling.py: NICECouplingBlock / GLOWCouplingBlock`). They act on
 * the embedding output (forward) and, inverted, on the hidden states before
 * an LM head's vocabulary projection (reverse). Features are split in halves
 * x1 = x[…, :d/2], x2 = x[…, d/2:].
 */
export interface InvertibleBlock extends Module {
  forward(x: Tensor, rev?: boolean): Tensor;
}

/** Linear(in, ⌊in/rf⌋) → activation → Linear(⌊in/rf⌋, out) (Python `get_subnet_constructor`). */
function subnet(dimsIn: number, dimsOut: number, nonLinearity: string | null, reductionFactor: number): Sequential {
  const hidden = Math.floor(dimsIn / reductionFactor);
  if (hidden < 1) throw new Error(`invertible adapter: inv_adapter_reduction_factor ${reductionFactor} leaves no units for input width ${dimsIn}`);
  return new Sequential(new Linear(dimsIn, hidden), new Activation(nonLinearity), new Linear(hidden, dimsOut));
}

/** Python applies `init_bert_weights` to the whole block: N(0, 0.02²) weights, zero biases. */
function initBert(block: Module): void {
  for (const m of block.modules()) {
    if (m instanceof Linear) {
      initNormal(m.weight, 0.02);
      if (m.bias) initZeros(m.bias);
    }
  }
}

function halves(x: Tensor, split1: number): [Tensor, Tensor] {
  const d = x.shape[x.rank - 1]!;
  return [narrow(x, -1, 0, split1), narrow(x, -1, split1, d - split1)];
}

/**
 * NICE additive coupling: forward y1 = x1 + F(x2), y2 = x2 + G(y1);
 * reverse y2 = x2 − G(x1), y1 = x1 − F(y2). Children 'F' and 'G'.
 */
export class NiceCouplingBlock extends Module implements InvertibleBlock {
  readonly split1: number;
  readonly split2: number;
  readonly F: Sequential;
  readonly G: Sequential;

  constructor(channels: number, nonLinearity: string | null, reductionFactor: number) {
    super();
    this.split1 = Math.floor(channels / 2);
    this.split2 = channels - this.split1;
    this.F = this.registerModule('F', subnet(this.split2, this.split1, nonLinearity, reductionFactor));
    this.G = this.registerModule('G', subnet(this.split1, this.split2, nonLinearity, reductionFactor));
    initBert(this);
  }

  forward(x: Tensor, rev = false): Tensor {
    const [x1, x2] = halves(x, this.split1);
    if (!rev) {
      const y1 = add(x1, this.F.forward(x2));
      const y2 = add(x2, this.G.forward(y1));
      return concat([y1, y2], -1);
    }
    const y2 = sub(x2, this.G.forward(x1));
    const y1 = sub(x1, this.F.forward(y2));
    return concat([y1, y2], -1);
  }
}

/**
 * atan composed from differentiable primitives (core has no atan op):
 * three half-angle reductions atan(x) = 2·atan(x / (1 + √(1 + x²))) bring
 * |x| below tan(π/16) ≈ 0.2, where the odd Taylor series to x¹⁵ is exact to
 * ~1e-13; the result is scaled back by 8.
 */
export function atan(x: Tensor): Tensor {
  let z = x;
  for (let i = 0; i < 3; i++) z = div(z, add(sqrt(add(square(z), 1)), 1));
  const u = square(z);
  // atan(z) = z·P(z²), P(u) = Σₙ (−1)ⁿ uⁿ/(2n+1) for n = 0…7, in Horner form.
  const coef = (n: number): number => (n % 2 === 0 ? 1 : -1) / (2 * n + 1);
  let acc = add(mulScalar(u, coef(7)), coef(6));
  for (let n = 5; n >= 0; n--) acc = add(mul(acc, u), coef(n));
  return mulScalar(mul(z, acc), 8);
}

/**
 * GLOW affine coupling with soft clamping, implemented as the GLOW/FrEIA
 * block is defined (Python's port is broken, quirk Q19: its forward uses x1
 * and x2 in place of s2(x2), and it splits on dim 1 — the sequence axis — and
 * returns a list). Here:
 *   forward: [s2, t2] = s2net(x2); y1 = e(s2)·x1 + t2; [s1, t1] = s1net(y1); y2 = e(s1)·x2 + t1
 *   reverse: [s1, t1] = s1net(x1); y2 = (x2 − t1)/e(s1); [s2, t2] = s2net(y2); y1 = (x1 − t2)/e(s2)
 * with e(s) = exp(clamp·0.636·atan(s/clamp)), clamp 5, all on the feature
 * axis. Children 's1' (d1 → 2·d2) and 's2' (d2 → 2·d1) have Python's names
 * and shapes, so weights load either way, but outputs differ from Python's
 * (which cannot run on [batch, seq, dim] inputs correctly).
 */
export class GlowCouplingBlock extends Module implements InvertibleBlock {
  readonly split1: number;
  readonly split2: number;
  readonly s1: Sequential;
  readonly s2: Sequential;
  readonly clamp = 5.0;

  constructor(channels: number, nonLinearity: string | null, reductionFactor: number) {
    super();
    this.split1 = Math.floor(channels / 2);
    this.split2 = channels - this.split1;
    this.s1 = this.registerModule('s1', subnet(this.split1, this.split2 * 2, nonLinearity, reductionFactor));
    this.s2 = this.registerModule('s2', subnet(this.split2, this.split1 * 2, nonLinearity, reductionFactor));
    initBert(this);
  }

  /** e(s) = exp(clamp · 0.636 · atan(s / clamp)). */
  private e(s: Tensor): Tensor {
    return exp(mulScalar(atan(mulScalar(s, 1 / this.clamp)), this.clamp * 0.636));
  }

  forward(x: Tensor, rev = false): Tensor {
    const [x1, x2] = halves(x, this.split1);
    if (!rev) {
      const [s2, t2] = halves(this.s2.forward(x2), this.split1);
      const y1 = add(mul(this.e(s2), x1), t2);
      const [s1, t1] = halves(this.s1.forward(y1), this.split2);
      const y2 = add(mul(this.e(s1), x2), t1);
      return concat([y1, y2], -1);
    }
    const [s1, t1] = halves(this.s1.forward(x1), this.split2);
    const y2 = div(sub(x2, t1), this.e(s1));
    const [s2, t2] = halves(this.s2.forward(y2), this.split1);
    const y1 = div(sub(x1, t2), this.e(s2));
    return concat([y1, y2], -1);
  }
}

/** Builds the block for `inv_adapter` ('nice' or 'glow'). */
export function createInvertibleBlock(kind: string, channels: number, nonLinearity: string | null, reductionFactor: number): InvertibleBlock {
  if (kind === 'nice') return new NiceCouplingBlock(channels, nonLinearity, reductionFactor);
  if (kind === 'glow') return new GlowCouplingBlock(channels, nonLinearity, reductionFactor);
  throw new Error(`invalid invertible adapter type '${kind}'; valid: nice, glow`);
}
