import type { PrimitiveAttrs } from '../backend/primitives.js';
import type { DType } from '../tensor/dtype.js';
import { elementwiseCase, M, N } from './cases-elementwise.js';
import { intData, normalData, seedOf, sprinkle, uniformData } from './data.js';
import { layoutFor, type Layout, type LayoutSpec } from './layouts.js';
import { layoutHost, layoutView, type KernelCase } from './runner.js';

/**
 * Cases for data movement and creation: copy (strided in and out), cast,
 * fill and the counter-based random kernel.
 */

type Gen = (seed: number, n: number) => ArrayLike<number>;

const HALF: DType[] = ['f16', 'bf16'];
const optionalOf = (...ds: DType[]): DType[] => ds.filter((d) => HALF.includes(d));

/** Typical values of a dtype (within range, so no cast or copy depends on wrapping). */
function valuesOf(dtype: DType): Gen {
  switch (dtype) {
    case 'i32': return (s, n) => intData(s, n, -100000, 100000);
    case 'u8': return (s, n) => intData(s, n, 0, 256);
    case 'i8': return (s, n) => intData(s, n, -128, 128);
    default: return (s, n) => normalData(s, n, 0, 3);
  }
}

/** copy from a view in `layout` into a fresh contiguous output. */
function copyCase(dtype: DType, layout: Layout, shape: number[], label: string): KernelCase {
  return elementwiseCase({
    kernel: 'copy', dtype, name: `${label} → contiguous [${shape.join(', ')}]`, shape, layouts: [layout],
    gens: [valuesOf(dtype)], inDTypes: [dtype], outDType: dtype, optionalDTypes: optionalOf(dtype),
  });
}

/** A window of a larger target storage that `copy` writes into (runKernelInto); the whole storage is compared. */
interface TargetWindow {
  label: string;
  storageShape: number[];
  shape: number[];
  strides: number[];
  offset: number;
}

const WINDOWS: TargetWindow[] = [
  // rows 2..6, columns 3..8 of a [10, 12] matrix
  { label: 'slice of [10, 12]', storageShape: [10, 12], shape: [5, 6], strides: [12, 1], offset: 2 * 12 + 3 },
  // a transposed window: y[i, j] lands at base[j + 1, i + 2]
  { label: 'transposed window of [10, 12]', storageShape: [10, 12], shape: [6, 5], strides: [1, 12], offset: 12 + 2 },
  // every second column, starting at column 1
  { label: 'every second column of [4, 20]', storageShape: [4, 20], shape: [4, 10], strides: [20, 2], offset: 1 },
  // permute(0, 2, 1, 3) of a [2, 4, 3, 5] storage, as when writing attention heads back
  { label: 'rank-4 permuted target', storageShape: [2, 4, 3, 5], shape: [2, 3, 4, 5], strides: [60, 5, 15, 1], offset: 0 },
];

/** copy from a view in `srcLayout` into a strided window of an existing tensor. */
function copyIntoCase(dtype: DType, srcLayout: Layout, w: TargetWindow): KernelCase {
  const src: LayoutSpec = layoutFor(srcLayout, w.shape);
  const id = `copy [${dtype}] ${srcLayout} → ${w.label}`;
  const seed = seedOf(id);
  const gen = valuesOf(dtype);
  return {
    id,
    kernel: 'copy',
    name: `${srcLayout} → ${w.label}`,
    dtype,
    optionalDTypes: optionalOf(dtype),
    inputs: () => [
      layoutHost(src, dtype, (n) => gen(seed, n)),
      layoutHost(layoutFor('contiguous', w.storageShape), dtype, (n) => gen(seed ^ 0x1234567, n)),
    ],
    run: (ctx, [x, base]) => {
      const target = ctx.view(base!, w.shape, w.strides, w.offset);
      ctx.into('copy', [layoutView(ctx, x!, src)], target);
      return [{ name: 'target storage', tensor: base! }];
    },
  };
}

export function copyCases(dtype: DType): KernelCase[] {
  const cases = [
    copyCase(dtype, 'contiguous', [M, N], 'contiguous'),
    copyCase(dtype, 'transposed', [M, N], 'transposed view'),
    copyCase(dtype, 'sliced', [M, N], 'sliced view with offset'),
    copyCase(dtype, 'stepped', [5, 33], 'inner stride 2'),
    copyCase(dtype, 'rowBroadcast', [6, 129], 'stride-0 broadcast'),
    copyCase(dtype, 'permuted', [2, 3, 4, 5], 'rank-4 permuted view'),
  ];
  const srcs: Layout[] = ['contiguous', 'sliced', 'transposed', 'contiguous'];
  WINDOWS.forEach((w, i) => cases.push(copyIntoCase(dtype, srcs[i]!, w)));
  return cases;
}

/** copy of non-float dtypes (indices, masks, half-precision bits): they move bits, any dtype. */
export function copyOtherDTypeCases(): KernelCase[] {
  return [
    copyCase('i32', 'sliced', [M, N], 'sliced view with offset'),
    copyCase('u8', 'transposed', [M, N], 'transposed view'),
    copyCase('i8', 'stepped', [5, 33], 'inner stride 2'),
    copyIntoCase('i32', 'transposed', WINDOWS[0]!),
    copyIntoCase('u8', 'contiguous', WINDOWS[2]!),
    copyCase('f16', 'transposed', [M, N], 'transposed view'),
    copyIntoCase('f16', 'sliced', WINDOWS[0]!),
    copyCase('bf16', 'stepped', [5, 33], 'inner stride 2'),
    copyIntoCase('bf16', 'contiguous', WINDOWS[1]!),
  ];
}

/** Source values for a cast from→to: inside the target's range, so truncation is the only rounding. */
function castSource(from: DType, to: DType): Gen {
  const intFrom = from === 'i32' || from === 'u8' || from === 'i8';
  if (intFrom) {
    if (to === 'u8') return (s, n) => intData(s, n, 0, from === 'i8' ? 128 : 256);
    if (to === 'i8') return (s, n) => intData(s, n, from === 'u8' ? 0 : -128, 128);
    if (from === 'i32' && (to === 'f16' || to === 'bf16')) return (s, n) => intData(s, n, -2048, 2048);
    if (from === 'i32') return (s, n) => intData(s, n, -(2 ** 24), 2 ** 24);
    return valuesOf(from);
  }
  // float sources: halves, negatives (truncation toward zero) and exact integers
  const halves = (lo: number, hi: number): Gen => (s, n) => {
    const v = uniformData(s, n, lo, hi);
    sprinkle(v, 7, -2.5, 1);
    sprinkle(v, 7, 2.5, 2);
    sprinkle(v, 7, -0.75, 3);
    sprinkle(v, 7, 3, 4);
    return v.map((x) => (to === 'u8' ? Math.abs(x) : x));
  };
  if (to === 'i32') return halves(-1000, 1000);
  if (to === 'u8') return halves(0, 255.5);
  if (to === 'i8') return halves(-128.5, 127.5);
  if (to === 'f16') {
    // normal values, f16 overflow (→ ±Inf), its largest finite value, subnormals and ties of rounding
    return (s, n) => {
      const v = normalData(s, n, 0, 100);
      const specials = [65504, -65520, 70000, 1e-7, -3e-6, 6.1e-5, 1 / 3, 2049, 2051, 0.1];
      for (let i = 0; i < specials.length && i * 13 < n; i++) v[i * 13] = specials[i]!;
      return v;
    };
  }
  if (to === 'bf16') {
    return (s, n) => {
      const v = normalData(s, n, 0, 1000);
      const specials = [3.0e38, -1e-38, 1 / 3, 257, 259, 0.1];
      for (let i = 0; i < specials.length && i * 13 < n; i++) v[i * 13] = specials[i]!;
      return v;
    };
  }
  return valuesOf(from === 'f16' || from === 'bf16' ? 'f32' : from);
}

function castCase(from: DType, to: DType, layout: Layout = 'contiguous', shape: number[] = [M, N]): KernelCase {
  return elementwiseCase({
    kernel: 'cast', dtype: from, name: `${from} → ${to}${layout === 'contiguous' ? '' : ` from ${layout} view`} [${shape.join(', ')}]`,
    shape, layouts: [layout], gens: [castSource(from, to)], inDTypes: [from], outDType: to, optionalDTypes: optionalOf(from, to),
  });
}

/** Casts between a float dtype and the integer dtypes. */
export function castFloatCases(dtype: DType): KernelCase[] {
  const cases = [
    castCase(dtype, 'i32'), castCase('i32', dtype),
    castCase(dtype, 'u8'), castCase('u8', dtype),
    castCase(dtype, 'i8'), castCase('i8', dtype),
    castCase(dtype, 'i32', 'transposed'),
    castCase(dtype, 'u8', 'sliced'),
    castCase('i32', dtype, 'rowBroadcast', [6, 129]),
  ];
  if (dtype === 'f64') cases.push(castCase('f64', 'f32'), castCase('f32', 'f64'), castCase('f64', 'f32', 'stepped', [5, 33]));
  return cases;
}

/** Casts among integer dtypes and to/from f16 and bf16 (the latter only where the backend stores them). */
export function castOtherDTypeCases(): KernelCase[] {
  return [
    castCase('i32', 'u8'), castCase('i32', 'i8'), castCase('u8', 'i32'), castCase('i8', 'i32'),
    castCase('u8', 'i8'), castCase('i8', 'u8'),
    castCase('f32', 'f16'), castCase('f16', 'f32'), castCase('f32', 'bf16'), castCase('bf16', 'f32'),
    castCase('f16', 'bf16'), castCase('bf16', 'f16'),
    castCase('f32', 'f16', 'transposed'), castCase('bf16', 'f32', 'stepped', [5, 33]),
    castCase('i32', 'f16'), castCase('f16', 'i32'),
  ];
}

function fillCase(dtype: DType, shape: number[], value: number): KernelCase {
  const name = `value ${value} [${shape.join(', ')}]`;
  return {
    id: `fill [${dtype}] ${name}`, kernel: 'fill', name, dtype, optionalDTypes: optionalOf(dtype),
    inputs: () => [],
    run: (ctx) => [{ name: 'y', tensor: ctx.kernel('fill', [], [{ shape, dtype }], { value } satisfies PrimitiveAttrs['fill'])[0]! }],
  };
}

export function fillCases(dtype: DType): KernelCase[] {
  return [fillCase(dtype, [M, N], 3.25), fillCase(dtype, [], -0.001), fillCase(dtype, [4099], 0), fillCase(dtype, [1], 1e-30)];
}

export function fillOtherDTypeCases(): KernelCase[] {
  return [fillCase('i32', [100], -7), fillCase('u8', [33], 1), fillCase('i8', [5, 3], -3), fillCase('f16', [10], 0.5), fillCase('bf16', [10], -2)];
}

function randomCase(dtype: DType, shape: number[], attrs: PrimitiveAttrs['random'], label: string): KernelCase {
  const name = `${attrs.distribution} ${label} [${shape.join(', ')}]`;
  return {
    id: `random [${dtype}] ${name}`, kernel: 'random', name, dtype,
    inputs: () => [],
    // normal: Box–Muller's rounding error scales with std
    run: (ctx) => [{ name: 'y', tensor: ctx.kernel('random', [], [{ shape, dtype }], attrs)[0]!, atolScale: attrs.distribution === 'normal' ? (attrs.std ?? 1) : 1 }],
  };
}

/**
 * The random kernel must reproduce the reference's numbers for the same seed
 * and counter (see PrimitiveAttrs.random), including counters that wrap at 2^32.
 * p values are exact in f32 so bernoulli thresholds cannot round differently.
 */
export function randomCases(dtype: DType): KernelCase[] {
  return [
    randomCase(dtype, [M, N], { distribution: 'uniform', seed: 1234, counter: 0, low: -2, high: 3 }, 'seed 1234, [-2, 3)'),
    randomCase(dtype, [64], { distribution: 'uniform', seed: 0xdeadbeef, counter: 4294967290, low: 0, high: 1 }, 'counter wrapping 2^32'),
    randomCase(dtype, [4099], { distribution: 'normal', seed: 42, counter: 7, mean: 0.5, std: 2 }, 'seed 42, mean 0.5, std 2'),
    randomCase(dtype, [33], { distribution: 'normal', seed: 7, counter: 4294967280, mean: 0, std: 1 }, 'counter wrapping 2^32'),
    randomCase(dtype, [M, N], { distribution: 'bernoulli', seed: 99, counter: 100, p: 0.375 }, 'p 0.375'),
    randomCase(dtype, [17], { distribution: 'bernoulli', seed: 5, counter: 0, p: 0 }, 'p 0'),
    randomCase(dtype, [17], { distribution: 'bernoulli', seed: 5, counter: 0, p: 1 }, 'p 1'),
  ];
}
