import { BINARY_OPS, COMPARE_OPS, UNARY_OPS, type BinaryOp, type UnaryOp } from '../backend/primitives.js';
import type { DType } from '../tensor/dtype.js';
import { gridData, intData, normalData, seedOf, signedMagnitudeData, sprinkle, uniformData } from './data.js';
import { layoutFor, type Layout } from './layouts.js';
import { layoutHost, layoutView, type KernelCase } from './runner.js';

/**
 * Cases for the elementwise kernels: unary, binary, comparisons and where.
 * Every op runs on contiguous inputs of odd sizes, on a long 1-D input (for
 * vector-width tails), on rank 0, and on strided views: transposed, sliced
 * with an offset, every-second-element, stride-0 broadcasts, and a rank-4
 * permute as in attention heads.
 */

type Gen = (seed: number, n: number) => ArrayLike<number>;

/** Shape used for most 2-D layouts: 37·19 = 703, odd and prime-ish, so no vector width divides it. */
export const M = 37;
export const N = 19;

/** A case running one elementwise kernel on inputs in the given layouts. */
export function elementwiseCase(opts: {
  kernel: string;
  dtype: DType;
  name: string;
  shape: readonly number[];
  layouts: Layout[];
  gens: Gen[];
  inDTypes: DType[];
  outDType: DType;
  optionalDTypes?: DType[];
}): KernelCase {
  const specs = opts.layouts.map((l) => layoutFor(l, opts.shape));
  const id = `${opts.kernel} [${opts.dtype}] ${opts.name}`;
  const seed = seedOf(id);
  return {
    id,
    kernel: opts.kernel,
    name: opts.name,
    dtype: opts.dtype,
    optionalDTypes: opts.optionalDTypes,
    inputs: () => specs.map((s, i) => layoutHost(s, opts.inDTypes[i]!, (n) => opts.gens[i]!((seed + i * 0x9e3779b9) >>> 0, n))),
    run: (ctx, ins) => {
      const views = ins.map((t, i) => layoutView(ctx, t, specs[i]!));
      const [y] = ctx.kernel(opts.kernel, views, [{ shape: opts.shape, dtype: opts.outDType }]);
      return [{ name: 'y', tensor: y! }];
    },
  };
}

/** Layout variants every elementwise kernel runs on: [name, per-input layouts, shape]. */
function variants(arity: number): [string, Layout[], number[]][] {
  const all = (l: Layout): Layout[] => new Array<Layout>(arity).fill(l);
  const out: [string, Layout[], number[]][] = [
    ['contiguous', all('contiguous'), [M, N]],
    ['contiguous 1-D', all('contiguous'), [4099]],
    ['rank 0', all('contiguous'), []],
  ];
  if (arity === 1) {
    out.push(
      ['transposed view', ['transposed'], [M, N]],
      ['sliced view with offset', ['sliced'], [M, N]],
      ['inner stride 2', ['stepped'], [5, 33]],
      ['stride-0 broadcast', ['rowBroadcast'], [6, 129]],
      ['rank-4 permuted view', ['permuted'], [2, 3, 4, 5]],
    );
  } else if (arity === 2) {
    out.push(
      ['transposed ⊕ sliced', ['transposed', 'sliced'], [M, N]],
      ['inner stride 2 ⊕ transposed', ['stepped', 'transposed'], [5, 33]],
      ['row broadcast ⊕ column broadcast', ['rowBroadcast', 'colBroadcast'], [M, N]],
      ['tensor ⊕ scalar', ['contiguous', 'scalar'], [M, N]],
      ['scalar ⊕ tensor', ['scalar', 'contiguous'], [6, 129]],
      ['rank-4 permuted ⊕ broadcast', ['permuted', 'rowBroadcast'], [2, 3, 4, 5]],
    );
  } else {
    out.push(
      ['broadcast cond, transposed a, scalar b', ['colBroadcast', 'transposed', 'scalar'], [M, N]],
      ['sliced cond, broadcast a, strided b', ['sliced', 'rowBroadcast', 'stepped'], [M, N]],
      ['rank-4 permuted', ['permuted', 'contiguous', 'permuted'], [2, 3, 4, 5]],
    );
  }
  return out;
}

const normal = (std: number): Gen => (s, n) => normalData(s, n, 0, std);
const withZeros = (g: Gen, every: number): Gen => (s, n) => sprinkle(Float64Array.from(g(s, n)), every, 0);
const uniform = (lo: number, hi: number): Gen => (s, n) => uniformData(s, n, lo, hi);
const signed = (lo: number, hi: number): Gen => (s, n) => signedMagnitudeData(s, n, lo, hi);
/** Values 10^u for u uniform in [lo, hi): many orders of magnitude. */
const logUniform = (lo: number, hi: number, withSign = false): Gen => (s, n) => {
  const e = uniformData(s, n, lo, hi);
  const sg = intData(s ^ 0x7f4a7c15, n, 0, 2);
  return e.map((v, i) => (withSign && sg[i] ? -1 : 1) * 10 ** v);
};

/** Input domain of each unary op (valid inputs only: log/sqrt/rsqrt on positives, recip away from 0). */
const UNARY_DOMAIN: Record<UnaryOp, Gen> = {
  neg: withZeros(normal(3), 7),
  abs: withZeros(normal(3), 7),
  sign: withZeros(normal(3), 5),
  exp: uniform(-10, 10),
  log: uniform(0.01, 8),
  sqrt: withZeros(uniform(0.01, 8), 9),
  rsqrt: uniform(0.01, 8),
  recip: signed(0.05, 8),
  square: withZeros(normal(3), 7),
  sin: uniform(-2 * Math.PI, 2 * Math.PI),
  cos: uniform(-2 * Math.PI, 2 * Math.PI),
  tanh: withZeros(normal(3), 11),
  sigmoid: withZeros(normal(4), 11),
  relu: withZeros(normal(3), 5),
  erf: withZeros(normal(2), 11),
  gelu: withZeros(normal(3), 11),
  geluTanh: withZeros(normal(3), 11),
  silu: withZeros(normal(4), 11),
};

/**
 * Large-magnitude inputs where naive formulas overflow or lose accuracy
 * (tanh via e^2x, sigmoid via e^-x, exp to ±Inf/0, rsqrt of tiny values).
 * sin/cos are left out: range reduction of huge arguments is not part of the contract.
 */
const UNARY_EXTREME: Partial<Record<UnaryOp, Gen>> = {
  neg: logUniform(-30, 30, true),
  abs: logUniform(-30, 30, true),
  sign: logUniform(-30, 30, true),
  exp: uniform(-100, 80),
  log: logUniform(-30, 30),
  sqrt: logUniform(-30, 30),
  rsqrt: logUniform(-30, 30),
  recip: logUniform(-30, 30, true),
  square: logUniform(-15, 15, true),
  tanh: signed(10, 100),
  sigmoid: signed(10, 100),
  relu: logUniform(-30, 30, true),
  erf: signed(3, 100),
  gelu: signed(5, 100),
  geluTanh: signed(5, 100),
  silu: signed(10, 100),
};

/** Input domains of the binary ops: [a, b]. maximum/minimum use a grid so ties occur. */
const BINARY_DOMAIN: Record<BinaryOp, [Gen, Gen]> = {
  add: [normal(2), normal(2)],
  sub: [normal(2), normal(2)],
  mul: [normal(2), normal(2)],
  div: [normal(2), signed(0.25, 4)],
  pow: [uniform(0.1, 3), uniform(-2.5, 2.5)],
  maximum: [(s, n) => gridData(s, n, -8, 8), (s, n) => gridData(s, n, -8, 8)],
  minimum: [(s, n) => gridData(s, n, -8, 8), (s, n) => gridData(s, n, -8, 8)],
};

export function unaryCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const op of UNARY_OPS) {
    for (const [name, layouts, shape] of variants(1)) {
      cases.push(elementwiseCase({ kernel: op, dtype, name: `${name} [${shape.join(', ')}]`, shape, layouts, gens: [UNARY_DOMAIN[op]], inDTypes: [dtype], outDType: dtype }));
    }
    const extreme = UNARY_EXTREME[op];
    if (extreme) {
      cases.push(elementwiseCase({ kernel: op, dtype, name: `large magnitudes [${M}, ${N}]`, shape: [M, N], layouts: ['contiguous'], gens: [extreme], inDTypes: [dtype], outDType: dtype }));
    }
  }
  return cases;
}

export function binaryCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const op of BINARY_OPS) {
    for (const [name, layouts, shape] of variants(2)) {
      cases.push(elementwiseCase({ kernel: op, dtype, name: `${name} [${shape.join(', ')}]`, shape, layouts, gens: BINARY_DOMAIN[op], inDTypes: [dtype, dtype], outDType: dtype }));
    }
  }
  // Integer exponents (0 gives exactly 1, 1 the base), as used by gradient rules.
  cases.push(elementwiseCase({
    kernel: 'pow', dtype, name: `integer exponents [${M}, ${N}]`, shape: [M, N], layouts: ['contiguous', 'contiguous'],
    gens: [uniform(0.1, 3), (s, n) => gridData(s, n, 0, 4, 1)], inDTypes: [dtype, dtype], outDType: dtype,
  }));
  return cases;
}

export function compareCases(dtype: DType): KernelCase[] {
  const grid: Gen = (s, n) => gridData(s, n, -6, 6);
  const cases: KernelCase[] = [];
  const picked = new Set(['contiguous', 'rank 0', 'transposed ⊕ sliced', 'row broadcast ⊕ column broadcast', 'tensor ⊕ scalar', 'rank-4 permuted ⊕ broadcast']);
  for (const op of COMPARE_OPS) {
    for (const [name, layouts, shape] of variants(2)) {
      if (!picked.has(name)) continue;
      cases.push(elementwiseCase({ kernel: op, dtype, name: `${name} [${shape.join(', ')}]`, shape, layouts, gens: [grid, grid], inDTypes: [dtype, dtype], outDType: 'u8' }));
    }
  }
  return cases;
}

export function whereCases(dtype: DType): KernelCase[] {
  const cond: Gen = (s, n) => intData(s, n, 0, 2);
  return variants(3).map(([name, layouts, shape]) =>
    elementwiseCase({ kernel: 'where', dtype, name: `${name} [${shape.join(', ')}]`, shape, layouts, gens: [cond, normal(1), normal(1)], inDTypes: ['u8', dtype, dtype], outDType: dtype }),
  );
}
