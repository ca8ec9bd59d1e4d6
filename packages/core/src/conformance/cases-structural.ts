import { REDUCE_OPS, type PrimitiveAttrs } from '../backend/primitives.js';
import type { DType } from '../tensor/dtype.js';
import { shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { gridData, intData, normalData, seedOf, sprinkle, uniformData } from './data.js';
import { offsetHost, type CaseContext, type CaseOutput, type HostArray, type KernelCase } from './runner.js';

/**
 * Cases for the non-elementwise kernels. Their inputs are contiguous, but may
 * start at a non-zero offset of their storage (each kernel has one case with
 * offset inputs whose surroundings are poisoned with NaN).
 */

/** One input of a structural case: values, shape, dtype, and an optional storage offset. */
interface In {
  values: ArrayLike<number>;
  shape: number[];
  dtype: DType;
  offset?: number;
}

/** Builds a case from lazily generated inputs and a body that gets contiguous (possibly offset) views. */
function structuralCase(
  kernel: string,
  dtype: DType,
  name: string,
  make: (seed: number) => In[],
  body: (ctx: CaseContext, ins: Tensor[]) => CaseOutput[],
): KernelCase {
  const id = `${kernel} [${dtype}] ${name}`;
  const seed = seedOf(id);
  let shapes: In[] | null = null;
  return {
    id,
    kernel,
    name,
    dtype,
    inputs: (): HostArray[] => {
      shapes = make(seed);
      return shapes.map((i) => (i.offset ? offsetHost(i.shape, i.dtype, i.offset, i.values) : { values: i.values, shape: i.shape, dtype: i.dtype }));
    },
    run: (ctx, uploaded) => {
      const specs = (shapes ??= make(seed));
      const ins = uploaded.map((t, k) => {
        const spec = specs[k]!;
        return spec.offset ? ctx.at(t, spec.shape, spec.offset) : t;
      });
      return body(ctx, ins);
    },
  };
}

const normalIn = (seed: number, shape: number[], dtype: DType, std = 1, mean = 0, offset?: number): In => ({
  values: normalData(seed, shapeSize(shape), mean, std), shape, dtype, offset,
});

// ---------------------------------------------------------------- reductions

const REDUCE_SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 1, 5], [7, 13, 1], [1, 4097, 1], [4, 33, 5], [2, 257, 3], [1, 1, 4099], [3, 4097, 2],
];

export function reduceCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const op of REDUCE_OPS) {
    const variants: [number[], number, string][] = REDUCE_SHAPES.map((s) => [s, 0, `[${s.join(', ')}]`]);
    variants.push([[5, 17, 3], 7, '[5, 17, 3] at offset 7']);
    for (const [[outer, reduce, inner], offset, label] of variants) {
      const shape = [outer!, reduce!, inner!];
      cases.push(structuralCase(op, dtype, `[outer, reduce, inner] = ${label}`,
        (seed) => {
          const n = shapeSize(shape);
          // max/min/argmax on a grid so ties occur (argmax must pick the first); sum on normals
          const values = op === 'sum' ? normalData(seed, n, 0, 1) : gridData(seed, n, -20, 20);
          return [{ values, shape, dtype, offset }];
        },
        (ctx, [x]) => {
          const attrs: PrimitiveAttrs['reduce'] = { outer: outer!, reduce: reduce!, inner: inner! };
          const [y] = ctx.kernel(op, [x!], [{ shape: [outer!, inner!], dtype: op === 'argmax' ? 'i32' : dtype }], attrs);
          return [{ name: op, tensor: y!, atolScale: Math.sqrt(reduce!) }];
        }));
    }
    // A sum whose terms share a sign: the result grows with the length and so does rounding.
    if (op === 'sum') {
      cases.push(structuralCase('sum', dtype, '[outer, reduce, inner] = [2, 4097, 1], all positive',
        (seed) => [{ values: uniformData(seed, 2 * 4097, 0, 1), shape: [2, 4097, 1], dtype }],
        (ctx, [x]) => [{ name: 'sum', tensor: ctx.kernel('sum', [x!], [{ shape: [2, 1], dtype }], { outer: 2, reduce: 4097, inner: 1 })[0]!, atolScale: Math.sqrt(4097) }]));
    }
  }
  return cases;
}

// ---------------------------------------------------------------- matmul

function matmulCase(
  dtype: DType,
  label: string,
  p: { batch: number; m: number; k: number; n: number; transA: boolean; transB: boolean; aBroadcast?: boolean; bBroadcast?: boolean; offset?: number },
): KernelCase {
  const { batch, m, k, n, transA, transB } = p;
  const aBatch = p.aBroadcast ? 1 : batch;
  const bBatch = p.bBroadcast ? 1 : batch;
  const aShape = transA ? [aBatch, k, m] : [aBatch, m, k];
  const bShape = transB ? [bBatch, n, k] : [bBatch, k, n];
  const t = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
  return structuralCase('matmul', dtype, `${t} ${label}`,
    (seed) => [normalIn(seed, aShape, dtype, 1, 0, p.offset), normalIn(seed ^ 0xabcdef, bShape, dtype, 1, 0, p.offset ? p.offset + 2 : undefined)],
    (ctx, [a, b]) => {
      const attrs: PrimitiveAttrs['matmul'] = {
        batch, m, n, k, transA, transB, aBatchStride: p.aBroadcast ? 0 : m * k, bBatchStride: p.bBroadcast ? 0 : k * n,
      };
      const [c] = ctx.kernel('matmul', [a!, b!], [{ shape: [batch, m, n], dtype }], attrs);
      return [{ name: 'c', tensor: c!, atolScale: Math.sqrt(Math.max(k, 1)) }];
    });
}

const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

export function matmulCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  const sizes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [64, 64, 64], [129, 67, 33]];
  for (const [transA, transB] of TRANS) {
    for (const [m, k, n] of sizes) {
      cases.push(matmulCase(dtype, `m×k×n = ${m}×${k}×${n}`, { batch: 1, m, k, n, transA, transB }));
    }
    cases.push(matmulCase(dtype, 'batch 3, 17×9×13', { batch: 3, m: 17, k: 9, n: 13, transA, transB }));
    cases.push(matmulCase(dtype, 'batch 4, A broadcast (stride 0), 11×6×5', { batch: 4, m: 11, k: 6, n: 5, transA, transB, aBroadcast: true }));
    cases.push(matmulCase(dtype, 'batch 4, B broadcast (stride 0), 11×6×5', { batch: 4, m: 11, k: 6, n: 5, transA, transB, bBroadcast: true }));
  }
  cases.push(matmulCase(dtype, 'long k: 2×1031×3', { batch: 1, m: 2, k: 1031, n: 3, transA: false, transB: false }));
  cases.push(matmulCase(dtype, 'vector·matrix 1×40×70', { batch: 2, m: 1, k: 40, n: 70, transA: false, transB: true }));
  cases.push(matmulCase(dtype, 'batch 2, 7×5×6, inputs at offsets 5 and 7', { batch: 2, m: 7, k: 5, n: 6, transA: false, transB: false, offset: 5 }));
  return cases;
}

// ---------------------------------------------------------------- gather / scatterAdd

export function gatherCases(dtype: DType): KernelCase[] {
  const variants: [string, number, number, number, number][] = [
    // [label, v, d, n, table offset]
    ['v 50, d 17, n 40 (repeated ids)', 50, 17, 40, 0],
    ['v 1000, d 64, n 5', 1000, 64, 5, 0],
    ['v 7, d 1, n 30', 7, 1, 30, 0],
    ['v 9, d 6, n 12, table at offset 4', 9, 6, 12, 4],
  ];
  return variants.map(([label, v, d, n, offset]) =>
    structuralCase('gather', dtype, label,
      (seed) => {
        const ids = intData(seed ^ 0x777, n, 0, v);
        ids[0] = 0;
        if (n > 1) ids[n - 1] = v - 1;
        if (n > 3) ids[2] = ids[1]!;
        return [normalIn(seed, [v, d], dtype, 1, 0, offset || undefined), { values: ids, shape: [n], dtype: 'i32' }];
      },
      (ctx, [table, ids]) => {
        const [y] = ctx.kernel('gather', [table!, ids!], [{ shape: [n, d], dtype }], { v, d, n } satisfies PrimitiveAttrs['gather']);
        return [{ name: 'rows', tensor: y! }];
      }));
}

export function scatterAddCases(dtype: DType): KernelCase[] {
  const variants: [string, number, number, number, 'spread' | 'same'][] = [
    ['n 64, d 9 into v 12 (rows 10, 11 never hit)', 64, 9, 12, 'spread'],
    ['n 5, d 130, every id the same', 5, 130, 4, 'same'],
    ['n 1000, d 8 into v 7 (~140 adds per row)', 1000, 8, 7, 'spread'],
    ['n 1, d 3 into v 1', 1, 3, 1, 'spread'],
  ];
  return variants.map(([label, n, d, v, mode]) =>
    structuralCase('scatterAdd', dtype, label,
      (seed) => {
        const ids = mode === 'same' ? new Int32Array(n).fill(v - 1) : intData(seed ^ 0x999, n, 0, v > 10 ? 10 : v);
        return [normalIn(seed, [n, d], dtype), { values: ids, shape: [n], dtype: 'i32' }];
      },
      (ctx, [src, ids]) => {
        const [y] = ctx.kernel('scatterAdd', [src!, ids!], [{ shape: [v, d], dtype }], { v, d, n } satisfies PrimitiveAttrs['scatterAdd']);
        // Accumulation order may differ (atomics): error grows with the adds per row.
        return [{ name: 'y', tensor: y!, atolScale: Math.sqrt(Math.ceil(n / Math.min(v, 10))) }];
      }));
}

// ---------------------------------------------------------------- softmax / logSoftmax

/** Most negative finite value of the dtype (what attention masks use). */
function lowest(dtype: DType): number {
  return dtype === 'f64' ? -Number.MAX_VALUE : -3.4028234663852886e38;
}

type RowData = (seed: number, rows: number, cols: number, dtype: DType) => Float64Array;

const rowVariants: [string, number, number, RowData, number][] = [
  // [label, rows, cols, data, offset]
  ['1×1', 1, 1, (s, r, c) => normalData(s, r * c), 0],
  ['7×13', 7, 13, (s, r, c) => normalData(s, r * c, 0, 2), 0],
  ['3×1000', 3, 1000, (s, r, c) => normalData(s, r * c, 0, 3), 0],
  ['2×4097', 2, 4097, (s, r, c) => normalData(s, r * c, 0, 3), 0],
  ['5×64, large magnitudes ±80', 5, 64, (s, r, c) => uniformData(s, r * c, -80, 80), 0],
  ['4×50, constant offset +1000', 4, 50, (s, r, c) => normalData(s, r * c, 1000, 1), 0],
  [
    '4×33, masked with the lowest finite value (one row fully masked)', 4, 33,
    (s, r, c, dtype) => {
      const v = normalData(s, r * c, 0, 2);
      const mask = intData(s ^ 0x4242, r * c, 0, 3);
      for (let i = 0; i < v.length; i++) if (mask[i] === 0 || i < c) v[i] = lowest(dtype);
      return v;
    },
    0,
  ],
  ['6×21 at offset 9', 6, 21, (s, r, c) => normalData(s, r * c), 9],
];

export function softmaxCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const kernel of ['softmax', 'logSoftmax'] as const) {
    for (const [label, rows, cols, data, offset] of rowVariants) {
      cases.push(structuralCase(kernel, dtype, `rows×cols = ${label}`,
        (seed) => [{ values: data(seed, rows, cols, dtype), shape: [rows, cols], dtype, offset: offset || undefined }],
        (ctx, [x]) => {
          const [y] = ctx.kernel(kernel, [x!], [{ shape: [rows, cols], dtype }], { rows, cols } satisfies PrimitiveAttrs['softmax']);
          return [{ name: 'y', tensor: y! }];
        }));
    }
  }
  return cases;
}

// ---------------------------------------------------------------- layerNorm / rmsNorm

const NORM_VARIANTS: [string, number, number, number, number, number][] = [
  // [label, rows, d, eps, x mean, offset]
  ['1×1 (zero variance)', 1, 1, 1e-5, 0, 0],
  ['4×7', 4, 7, 1e-5, 0, 0],
  ['16×768, eps 1e-12', 16, 768, 1e-12, 0, 0],
  ['3×4097', 3, 4097, 1e-5, 0, 0],
  ['8×256, mean 8, std 0.5', 8, 256, 1e-5, 8, 0],
  ['5×33 at offset 3', 5, 33, 1e-6, 0, 3],
];

function normStats(x: ArrayLike<number>, rows: number, d: number, eps: number, rms: boolean): { mean: Float64Array; rstd: Float64Array } {
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j]!;
    const mu = rms ? 0 : s / d;
    let ss = 0;
    for (let j = 0; j < d; j++) ss += (x[r * d + j]! - mu) ** 2;
    mean[r] = mu;
    rstd[r] = 1 / Math.sqrt(ss / d + eps);
  }
  return { mean, rstd };
}

/** Rounds host values to the dtype, so statistics computed on the host match what the backends see. */
function roundTo(dtype: DType, v: Float64Array): Float64Array {
  return dtype === 'f32' ? Float64Array.from(Float32Array.from(v)) : v;
}

export function normCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [label, rows, d, eps, mu, offset] of NORM_VARIANTS) {
    const off = offset || undefined;
    const name = `rows×d = ${label}`;
    const gammaOf = (seed: number) => normalData(seed ^ 0x51, d, 1, 0.2);
    const betaOf = (seed: number) => normalData(seed ^ 0x52, d, 0, 0.2);
    const xOf = (seed: number) => roundTo(dtype, normalData(seed, rows * d, mu, mu ? 0.5 : 1));

    cases.push(structuralCase('layerNorm', dtype, name,
      (seed) => [{ values: xOf(seed), shape: [rows, d], dtype, offset: off }, { values: gammaOf(seed), shape: [d], dtype, offset: off }, { values: betaOf(seed), shape: [d], dtype }],
      (ctx, [x, g, b]) => {
        const [y, mean, rstd] = ctx.kernel('layerNorm', [x!, g!, b!], [{ shape: [rows, d], dtype }, { shape: [rows], dtype }, { shape: [rows], dtype }], { rows, d, eps } satisfies PrimitiveAttrs['layerNorm']);
        return [{ name: 'y', tensor: y! }, { name: 'mean', tensor: mean! }, { name: 'rstd', tensor: rstd! }];
      }));

    cases.push(structuralCase('layerNormBackward', dtype, name,
      (seed) => {
        const x = xOf(seed);
        const { mean, rstd } = normStats(x, rows, d, eps, false);
        return [
          normalIn(seed ^ 0x53, [rows, d], dtype, 1, 0, off),
          { values: x, shape: [rows, d], dtype, offset: off },
          { values: mean, shape: [rows], dtype },
          { values: rstd, shape: [rows], dtype, offset: off },
          { values: gammaOf(seed), shape: [d], dtype },
        ];
      },
      (ctx, [dy, x, mean, rstd, g]) => {
        const [dx, dg, db] = ctx.kernel('layerNormBackward', [dy!, x!, mean!, rstd!, g!],
          [{ shape: [rows, d], dtype }, { shape: [d], dtype }, { shape: [d], dtype }], { rows, d } satisfies PrimitiveAttrs['layerNormBackward']);
        return [
          { name: 'dx', tensor: dx! },
          { name: 'dgamma', tensor: dg!, atolScale: Math.sqrt(rows) },
          { name: 'dbeta', tensor: db!, atolScale: Math.sqrt(rows) },
        ];
      }));

    cases.push(structuralCase('rmsNorm', dtype, name,
      (seed) => [{ values: xOf(seed), shape: [rows, d], dtype, offset: off }, { values: gammaOf(seed), shape: [d], dtype, offset: off }],
      (ctx, [x, g]) => {
        const [y, rstd] = ctx.kernel('rmsNorm', [x!, g!], [{ shape: [rows, d], dtype }, { shape: [rows], dtype }], { rows, d, eps } satisfies PrimitiveAttrs['rmsNorm']);
        return [{ name: 'y', tensor: y! }, { name: 'rstd', tensor: rstd! }];
      }));

    cases.push(structuralCase('rmsNormBackward', dtype, name,
      (seed) => {
        const x = xOf(seed);
        const { rstd } = normStats(x, rows, d, eps, true);
        return [
          normalIn(seed ^ 0x53, [rows, d], dtype, 1, 0, off),
          { values: x, shape: [rows, d], dtype },
          { values: rstd, shape: [rows], dtype, offset: off },
          { values: gammaOf(seed), shape: [d], dtype, offset: off },
        ];
      },
      (ctx, [dy, x, rstd, g]) => {
        const [dx, dg] = ctx.kernel('rmsNormBackward', [dy!, x!, rstd!, g!],
          [{ shape: [rows, d], dtype }, { shape: [d], dtype }], { rows, d } satisfies PrimitiveAttrs['rmsNormBackward']);
        return [{ name: 'dx', tensor: dx! }, { name: 'dgamma', tensor: dg!, atolScale: Math.sqrt(rows) }];
      }));
  }
  return cases;
}

// ---------------------------------------------------------------- cross-entropy

const CE_VARIANTS: [string, number, number, number, (s: number, n: number) => Float64Array, number][] = [
  // [label, n, c, ignoreIndex, logits, offset]
  ['n 1, c 1', 1, 1, -100, (s, n) => normalData(s, n), 0],
  ['n 8, c 10, ignoreIndex -100', 8, 10, -100, (s, n) => normalData(s, n, 0, 2), 0],
  ['n 6, c 1000', 6, 1000, -100, (s, n) => normalData(s, n, 0, 3), 0],
  ['n 4, c 4097', 4, 4097, -100, (s, n) => normalData(s, n, 0, 3), 0],
  ['n 8, c 33, ignoreIndex 0 (a valid class)', 8, 33, 0, (s, n) => normalData(s, n, 0, 2), 0],
  ['n 5, c 64, large magnitudes ±80', 5, 64, -100, (s, n) => uniformData(s, n, -80, 80), 0],
  ['n 6, c 17, logits at offset 5', 6, 17, -100, (s, n) => normalData(s, n), 5],
];

export function crossEntropyCases(dtype: DType): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [label, n, c, ignoreIndex, logitsOf, offset] of CE_VARIANTS) {
    const off = offset || undefined;
    const targetsOf = (seed: number): Int32Array => {
      const t = intData(seed ^ 0x1e, n, 0, c);
      // every fourth row ignored (starting at row 1), and the target of row 0 is the last class
      sprinkle(t, 4, ignoreIndex, 1);
      if (c > 1 && ignoreIndex !== c - 1) t[0] = c - 1;
      return t;
    };
    const attrs: PrimitiveAttrs['crossEntropy'] = { n, c, ignoreIndex };
    cases.push(structuralCase('crossEntropy', dtype, label,
      (seed) => [{ values: logitsOf(seed, n * c), shape: [n, c], dtype, offset: off }, { values: targetsOf(seed), shape: [n], dtype: 'i32', offset: off }],
      (ctx, [logits, targets]) => [{ name: 'loss', tensor: ctx.kernel('crossEntropy', [logits!, targets!], [{ shape: [n], dtype }], attrs)[0]! }]));
    cases.push(structuralCase('crossEntropyBackward', dtype, label,
      (seed) => [
        { values: logitsOf(seed, n * c), shape: [n, c], dtype, offset: off },
        { values: targetsOf(seed), shape: [n], dtype: 'i32' },
        { values: normalData(seed ^ 0x2f, n, 0, 1), shape: [n], dtype, offset: off },
      ],
      (ctx, [logits, targets, dloss]) => [{ name: 'dlogits', tensor: ctx.kernel('crossEntropyBackward', [logits!, targets!, dloss!], [{ shape: [n, c], dtype }], attrs)[0]! }]));
  }
  return cases;
}
