/**
 * Direct kernel tests for the reference CPU backend ('cpu-ref'). Every kernel
 * is run through `runKernel` on hand-made tensors and compared with a naive JS
 * computation. Tolerances: f64 1e-12 relative (exact-ish), f32 1e-5 relative.
 */
import { describe, expect, it } from 'vitest';
import type { View } from '../src/backend/backend.js';
import { CpuBackend, registerCpuBackend } from '../src/backend/cpu/index.js';
import { emptyTensor, runKernel, runKernelInto } from '../src/backend/dispatch.js';
import { OPTIONAL_KERNELS, PRIMITIVE_KERNELS, UNARY_OPS, type UnaryOp } from '../src/backend/primitives.js';
import { cpuKernels } from '../src/backend/cpu/kernels.js';
import { backendByName, hasKernel, setBackend } from '../src/backend/registry.js';
import { normalAt, uniformAt } from '../src/random/hash.js';
import { fromNumbers, type DType, type TypedArray } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';

registerCpuBackend();
const backend = setBackend('cpu-ref');

// ---------------------------------------------------------------- helpers

/** A contiguous tensor holding `values` (encoded for the dtype). */
function make(values: ArrayLike<number>, shape: number[], dtype: DType = 'f32'): Tensor {
  const t = emptyTensor(shape, dtype, backend);
  backend.write(t.storage, fromNumbers(values, dtype));
  return t;
}

/** A strided view onto an existing tensor's storage. */
function strided(base: Tensor, shape: number[], strides: number[], offset = 0): View {
  return { storage: base.storage, dtype: base.dtype, shape, strides, offset };
}

function read(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Deterministic test data (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randn(n: number, seed: number, scale = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

const f32 = (v: number): number => Math.fround(v);

/** |a - e| <= atol + rtol·|e| elementwise, NaN matching NaN. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(a, `element ${i}`).toBeNaN();
      continue;
    }
    if (a === e) continue;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (|err| ${err} > ${atol} + ${rtol}·|e|)`);
    }
  }
}

const TOL: Record<'f32' | 'f64', number> = { f32: 1e-5, f64: 1e-12 };

// ---------------------------------------------------------------- backend

describe('CpuBackend', () => {
  it('registers a kernel for every primitive, idempotently', () => {
    registerCpuBackend();
    registerCpuBackend();
    expect(backendByName('cpu-ref')).toBe(backend);
    expect(backend).toBeInstanceOf(CpuBackend);
    const missing = PRIMITIVE_KERNELS.filter((k) => !hasKernel(k, 'cpu-ref'));
    expect(missing).toEqual([]);
  });

  it('builds its kernel table from primitiveKernelTable: exactly the primitives plus the optional fused ones', () => {
    expect([...cpuKernels().keys()].sort()).toEqual([...PRIMITIVE_KERNELS, ...OPTIONAL_KERNELS].sort());
  });

  it('writes at an offset and reads copies', async () => {
    const t = make([1, 2, 3, 4], [4]);
    backend.write(t.storage, new Float32Array([9, 8]), 1);
    const a = backend.readSync!(t.storage);
    expect(Array.from(a)).toEqual([1, 9, 8, 4]);
    a[0] = 100; // a copy: the storage is unchanged
    expect(Array.from(await backend.read(t.storage))).toEqual([1, 9, 8, 4]);
    expect(() => backend.write(t.storage, new Float32Array(3), 2)).toThrow(RangeError);
    expect(() => backend.write(t.storage, new Float64Array(1))).toThrow(/Float64Array into f32/);
    t.dispose();
  });

  it('counts live memory exactly and returns to zero after free', () => {
    const before = backend.memory();
    const a = make([1, 2, 3], [3], 'f64'); // 24 bytes
    const b = make([1, 2], [2], 'f16'); // 4 bytes
    const c = make([1, 2, 3, 4, 5], [5], 'u8'); // 5 bytes
    const mid = backend.memory();
    expect(mid.liveBytes - before.liveBytes).toBe(24 + 4 + 5);
    expect(mid.liveBuffers - before.liveBuffers).toBe(3);
    a.dispose();
    b.dispose();
    c.dispose();
    expect(backend.memory()).toEqual(before);

    const fresh = new CpuBackend();
    const s = fresh.alloc('i32', 10);
    expect(fresh.memory()).toEqual({ liveBytes: 40, liveBuffers: 1 });
    fresh.free(s);
    expect(fresh.memory()).toEqual({ liveBytes: 0, liveBuffers: 0 });
  });

  it('throws a clear error on double free and on use after free', () => {
    const fresh = new CpuBackend();
    const s = fresh.alloc('f32', 4);
    fresh.free(s);
    expect(() => fresh.free(s)).toThrow(/freed twice/);
    expect(() => fresh.readSync(s)).toThrow(/freed/);
    expect(fresh.memory()).toEqual({ liveBytes: 0, liveBuffers: 0 });
  });

  it('names kernel, dtype and backend for unsupported dtypes', () => {
    const h = make([1, 2], [2], 'f16');
    expect(() => runKernel('exp', [h], [{ shape: [2], dtype: 'f16' }])).toThrow(
      "cpu-ref kernel 'exp' does not support dtype f16; cast to f32 first",
    );
    const i = make([1, 2], [2], 'i32');
    expect(() => runKernel('exp', [i], [{ shape: [2], dtype: 'i32' }])).toThrow(/cpu-ref kernel 'exp' does not support dtype i32/);
    expect(() => runKernel('div', [i, i], [{ shape: [2], dtype: 'i32' }])).toThrow(/'div' does not support dtype i32/);
    expect(() => runKernel('matmul', [h, h], [{ shape: [1, 1], dtype: 'f16' }], { batch: 1, m: 1, n: 1, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 })).toThrow(/'matmul' does not support dtype f16/);
  });
});

// ---------------------------------------------------------------- elementwise

describe('binary and comparison kernels', () => {
  const binRef: Record<string, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    pow: (a, b) => Math.pow(a, b),
    maximum: (a, b) => Math.max(a, b),
    minimum: (a, b) => Math.min(a, b),
  };

  for (const dtype of ['f32', 'f64'] as const) {
    it(`computes every binary op on contiguous ${dtype} inputs`, () => {
      const av = randn(37, 1, 3).map((v) => Math.abs(v) + 0.1);
      const bv = randn(37, 2, 2);
      const a = make(av, [37], dtype), b = make(bv, [37], dtype);
      for (const [op, f] of Object.entries(binRef)) {
        const [y] = runKernel(op, [a, b], [{ shape: [37], dtype }]);
        const q = dtype === 'f32' ? f32 : (v: number) => v;
        expectClose(read(y!), av.map((x, i) => q(f(q(x), q(bv[i]!)))), TOL[dtype]);
      }
    });
  }

  it('broadcasts a row vector, a column and a scalar through stride 0', () => {
    const av = randn(12, 3), rv = randn(4, 4), cv = randn(3, 5);
    const a = make(av, [3, 4], 'f64'), r = make(rv, [4], 'f64'), c = make(cv, [3], 'f64'), s = make([2.5], [1], 'f64');
    const [y1] = runKernel('add', [a, strided(r, [3, 4], [0, 1])], [{ shape: [3, 4], dtype: 'f64' }]);
    expect(read(y1!)).toEqual(av.map((v, i) => v + rv[i % 4]!));
    const [y2] = runKernel('mul', [strided(c, [3, 4], [1, 0]), a], [{ shape: [3, 4], dtype: 'f64' }]);
    expect(read(y2!)).toEqual(av.map((v, i) => cv[Math.floor(i / 4)]! * v));
    const [y3] = runKernel('sub', [a, strided(s, [3, 4], [0, 0])], [{ shape: [3, 4], dtype: 'f64' }]);
    expect(read(y3!)).toEqual(av.map((v) => v - 2.5));
    // Outer-product broadcast: both inputs broadcast along different axes.
    const [y4] = runKernel('mul', [strided(c, [3, 4], [1, 0]), strided(r, [3, 4], [0, 1])], [{ shape: [3, 4], dtype: 'f64' }]);
    expect(read(y4!)).toEqual(av.map((_, i) => cv[Math.floor(i / 4)]! * rv[i % 4]!));
  });

  it('reads transposed and sliced inputs with offsets', () => {
    // base is 4×5 row-major; take the transpose (5×4) and the slice [1:4, 2:5] (3×3).
    const bv = randn(20, 6);
    const base = make(bv, [4, 5], 'f64');
    const [t] = runKernel('add', [strided(base, [5, 4], [1, 5]), strided(base, [5, 4], [1, 5])], [{ shape: [5, 4], dtype: 'f64' }]);
    const expT: number[] = [];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expT.push(2 * bv[j * 5 + i]!);
    expect(read(t!)).toEqual(expT);
    const slice = strided(base, [3, 3], [5, 1], 1 * 5 + 2);
    const ones = make([1], [1], 'f64');
    const [s] = runKernel('add', [slice, strided(ones, [3, 3], [0, 0])], [{ shape: [3, 3], dtype: 'f64' }]);
    const expS: number[] = [];
    for (let i = 1; i < 4; i++) for (let j = 2; j < 5; j++) expS.push(bv[i * 5 + j]! + 1);
    expect(read(s!)).toEqual(expS);
    // Rank-3 view with a size-1 axis and negative-free irregular strides.
    const [u] = runKernel('neg', [strided(base, [2, 1, 2], [10, 7, 2], 1)], [{ shape: [2, 1, 2], dtype: 'f64' }]);
    expect(read(u!)).toEqual([-bv[1]!, -bv[3]!, -bv[11]!, -bv[13]!]);
  });

  it('handles rank-0 and empty tensors', () => {
    const a = make([3], [], 'f32'), b = make([4], [], 'f32');
    const [y] = runKernel('mul', [a, b], [{ shape: [], dtype: 'f32' }]);
    expect(read(y!)).toEqual([12]);
    const e = make([], [0, 3], 'f32');
    const [z] = runKernel('add', [e, e], [{ shape: [0, 3], dtype: 'f32' }]);
    expect(read(z!)).toEqual([]);
  });

  it('supports i32 add/sub/mul/maximum/minimum with int32 wrapping', () => {
    const a = make([2147483647, -5, 7, 65536, -2147483648], [5], 'i32');
    const b = make([1, 3, -2, 65536, 1], [5], 'i32');
    const run = (op: string): number[] => read(runKernel(op, [a, b], [{ shape: [5], dtype: 'i32' }])[0]!);
    expect(run('add')).toEqual([-2147483648, -2, 5, 131072, -2147483647]);
    expect(run('sub')).toEqual([2147483646, -8, 9, 0, 2147483647]);
    expect(run('mul')).toEqual([2147483647, -15, -14, 0, -2147483648]);
    expect(run('maximum')).toEqual([2147483647, 3, 7, 65536, 1]);
    expect(run('minimum')).toEqual([1, -5, -2, 65536, -2147483648]);
  });

  it('propagates NaN through maximum and minimum', () => {
    const a = make([NaN, 1, 2, -0.5], [4], 'f64'), b = make([1, NaN, 3, -1], [4], 'f64');
    expect(read(runKernel('maximum', [a, b], [{ shape: [4], dtype: 'f64' }])[0]!)).toEqual([NaN, NaN, 3, -0.5]);
    expect(read(runKernel('minimum', [a, b], [{ shape: [4], dtype: 'f64' }])[0]!)).toEqual([NaN, NaN, 2, -1]);
  });

  it('compares into u8 with broadcasting and IEEE NaN semantics', () => {
    const av = [1, 2, NaN, 4, 5, 6];
    const a = make(av, [2, 3], 'f32'), b = make([2, 2, 5], [3], 'f32');
    const bb = strided(b, [2, 3], [0, 1]);
    const ref: Record<string, (x: number, y: number) => boolean> = {
      eq: (x, y) => x === y, ne: (x, y) => x !== y, lt: (x, y) => x < y, le: (x, y) => x <= y, gt: (x, y) => x > y, ge: (x, y) => x >= y,
    };
    for (const [op, f] of Object.entries(ref)) {
      const [y] = runKernel(op, [a, bb], [{ shape: [2, 3], dtype: 'u8' }]);
      expect(y!.dtype).toBe('u8');
      expect(read(y!), op).toEqual(av.map((v, i) => (f(v, [2, 2, 5][i % 3]!) ? 1 : 0)));
    }
    const i8 = make([-3, 0, 7], [3], 'i8'), j8 = make([-3, 1, 6], [3], 'i8');
    expect(read(runKernel('lt', [i8, j8], [{ shape: [3], dtype: 'u8' }])[0]!)).toEqual([0, 1, 0]);
  });
});

describe('where, copy and cast', () => {
  it('selects with a broadcast u8 condition, including f16 bit patterns', () => {
    const cond = make([1, 0, 1], [3], 'u8');
    const a = make([1, 2, 3, 4, 5, 6], [2, 3], 'f32'), b = make([-1], [1], 'f32');
    const [y] = runKernel('where', [strided(cond, [2, 3], [0, 1]), a, strided(b, [2, 3], [0, 0])], [{ shape: [2, 3], dtype: 'f32' }]);
    expect(read(y!)).toEqual([1, -1, 3, 4, -1, 6]);
    const ah = make([0.5, 1.5, 2.5], [3], 'f16'), bh = make([-0.5, -1.5, -2.5], [3], 'f16');
    const [yh] = runKernel('where', [cond, ah, bh], [{ shape: [3], dtype: 'f16' }]);
    expect(read(yh!)).toEqual([0.5, -1.5, 2.5]);
    expect(() => runKernel('where', [a, a, a], [{ shape: [2, 3], dtype: 'f32' }])).toThrow(/u8 condition/);
  });

  it('copies into a strided output window', () => {
    // target: 4×5 zeros; write a 2×3 source into the transposed window of columns 1..2, rows 1..3.
    const target = make(new Array(20).fill(0), [4, 5], 'f64');
    const src = make([1, 2, 3, 4, 5, 6], [2, 3], 'f64');
    // window[i][j] = target[1 + j][1 + i]: shape [2, 3], strides [1, 5], offset 6.
    const window = new Tensor(target.storage, [2, 3], [1, 5], 6);
    runKernelInto('copy', [src], window);
    const got = read(target);
    const exp = new Array(20).fill(0);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) exp[(1 + j) * 5 + 1 + i] = src.dataSync()[i * 3 + j]!;
    expect(got).toEqual(exp);
    window.dispose();
  });

  it('copies from a strided input and between overlapping views of one storage', () => {
    const base = make([0, 1, 2, 3, 4, 5, 6, 7], [8], 'i32');
    const [y] = runKernel('copy', [strided(base, [2, 2], [1, 4], 1)], [{ shape: [2, 2], dtype: 'i32' }]);
    expect(read(y!)).toEqual([1, 5, 2, 6]);
    // base[1:8] = base[0:7] must shift, not smear.
    const dst = new Tensor(base.storage, [7], [1], 1);
    const srcView = new Tensor(base.storage, [7], [1], 0);
    runKernelInto('copy', [srcView], dst);
    expect(read(base)).toEqual([0, 0, 1, 2, 3, 4, 5, 6]);
    dst.dispose();
    srcView.dispose();
  });

  it('casts float→int truncating toward zero and wrapping like typed arrays', () => {
    const x = make([-2.7, -0.5, 0.5, 2.7, 300, -1, 200, NaN], [8], 'f32');
    expect(read(runKernel('cast', [x], [{ shape: [8], dtype: 'i32' }])[0]!)).toEqual([-2, 0, 0, 2, 300, -1, 200, 0]);
    expect(read(runKernel('cast', [x], [{ shape: [8], dtype: 'u8' }])[0]!)).toEqual([254, 0, 0, 2, 44, 255, 200, 0]);
    expect(read(runKernel('cast', [x], [{ shape: [8], dtype: 'i8' }])[0]!)).toEqual([-2, 0, 0, 2, 44, -1, -56, 0]);
  });

  it('casts to and from f16/bf16 and between float widths, from strided inputs', () => {
    const vals = [0, 1, -2, 0.5, 65504, 1e-3, 3.14159];
    const x = make(vals, [7], 'f64');
    const [h] = runKernel('cast', [x], [{ shape: [7], dtype: 'f16' }]);
    expect(h!.storage.handle).toBeInstanceOf(Uint16Array);
    const [back] = runKernel('cast', [h!], [{ shape: [7], dtype: 'f32' }]);
    expectClose(read(back!), vals, 1e-3); // f16 keeps ~11 bits
    const [bf] = runKernel('cast', [back!], [{ shape: [7], dtype: 'bf16' }]);
    const [bi] = runKernel('cast', [bf!], [{ shape: [7], dtype: 'i32' }]);
    expect(read(bi!)).toEqual([0, 1, -2, 0, 65536, 0, 3]); // 65504 rounds to 65536 in bf16
    const [g] = runKernel('cast', [strided(x, [3], [2], 1)], [{ shape: [3], dtype: 'f32' }]);
    expect(read(g!)).toEqual([1, 0.5, f32(1e-3)]);
    const i = make([-7, 3], [2], 'i32');
    expect(read(runKernel('cast', [i], [{ shape: [2], dtype: 'f64' }])[0]!)).toEqual([-7, 3]);
  });
});

describe('unary kernels', () => {
  const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  const ref: Record<UnaryOp, ((x: number) => number) | null> = {
    neg: (x) => -x,
    abs: Math.abs,
    sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    rsqrt: (x) => 1 / Math.sqrt(x),
    recip: (x) => 1 / x,
    square: (x) => x * x,
    sin: Math.sin,
    cos: Math.cos,
    tanh: Math.tanh,
    sigmoid: sig,
    relu: (x) => Math.max(x, 0),
    erf: null, // checked against known values below
    gelu: null,
    geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
    silu: (x) => x * sig(x),
  };
  const positiveOnly = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt']);

  for (const dtype of ['f32', 'f64'] as const) {
    it(`matches Math at several points in ${dtype}`, () => {
      for (const op of UNARY_OPS) {
        const f = ref[op];
        if (!f) continue;
        const xs = positiveOnly.has(op) ? [0.01, 0.5, 1, 2.5, 100] : [-3.5, -1, -0.25, 0, 0.3, 1, 4.2];
        const [y] = runKernel(op, [make(xs, [xs.length], dtype)], [{ shape: [xs.length], dtype }]);
        const q = dtype === 'f32' ? f32 : (v: number) => v;
        try {
          expectClose(read(y!), xs.map((v) => q(f(q(v)))), TOL[dtype], dtype === 'f32' ? 1e-7 : 1e-15);
        } catch (e) {
          throw new Error(`${op}: ${(e as Error).message}`);
        }
      }
    });
  }

  it('computes erf to ~1e-15 against known values', () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [-3, -0.9999779095030014],
      [0.001, 0.0011283787909692365], [1.9, 0.9927904292352575], [2.1, 0.997020533343667],
      [3.5, 0.9999992569016276], [5, 0.9999999999984626], [0, 0],
    ];
    const [y] = runKernel('erf', [make(known.map((k) => k[0]), [known.length], 'f64')], [{ shape: [known.length], dtype: 'f64' }]);
    expectClose(read(y!), known.map((k) => k[1]), 2e-15);
  });

  it('computes exact gelu accurately, also in the far negative tail', () => {
    const known: [number, number][] = [
      [-10, -7.619853024160526e-23], [-5, -1.4332578593959695e-6], [-1, -0.15865525393145705], [0.5, 0.34573123063700656], [3, 2.99595030590511],
    ];
    const [y] = runKernel('gelu', [make(known.map((k) => k[0]), [known.length], 'f64')], [{ shape: [known.length], dtype: 'f64' }]);
    expectClose(read(y!), known.map((k) => k[1]), 1e-12);
  });

  it('handles edge values: sign(0)=0, relu keeps NaN, sigmoid saturates without NaN', () => {
    const x = make([0, -0, NaN, -1000, 1000], [5], 'f64');
    expect(read(runKernel('sign', [x], [{ shape: [5], dtype: 'f64' }])[0]!)).toEqual([0, 0, NaN, -1, 1]);
    expect(read(runKernel('relu', [x], [{ shape: [5], dtype: 'f64' }])[0]!).slice(2)).toEqual([NaN, 0, 1000]);
    expect(read(runKernel('sigmoid', [x], [{ shape: [5], dtype: 'f64' }])[0]!)).toEqual([0.5, 0.5, NaN, 0, 1]);
    expect(read(runKernel('silu', [x], [{ shape: [5], dtype: 'f64' }])[0]!).slice(3)).toEqual([-0, 1000]);
  });

  it('supports neg/abs/sign on i32 and strided inputs', () => {
    const base = make([5, -3, 0, 8, -1, 2], [2, 3], 'i32');
    const xt = strided(base, [3, 2], [1, 3]); // transpose: [[5,8],[-3,-1],[0,2]]
    expect(read(runKernel('neg', [xt], [{ shape: [3, 2], dtype: 'i32' }])[0]!)).toEqual([-5, -8, 3, 1, 0, -2]);
    expect(read(runKernel('abs', [xt], [{ shape: [3, 2], dtype: 'i32' }])[0]!)).toEqual([5, 8, 3, 1, 0, 2]);
    expect(read(runKernel('sign', [xt], [{ shape: [3, 2], dtype: 'i32' }])[0]!)).toEqual([1, 1, -1, -1, 0, 1]);
  });
});

// ---------------------------------------------------------------- matmul

function naiveMatmul(
  a: number[], b: number[], batch: number, m: number, n: number, k: number,
  transA: boolean, transB: boolean, aBS: number, bBS: number, aOff: number, bOff: number,
): number[] {
  const c: number[] = [];
  for (let q = 0; q < batch; q++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a[aOff + q * aBS + (transA ? p * m + i : i * k + p)]!;
          const bv = b[bOff + q * bBS + (transB ? j * k + p : p * n + j)]!;
          s += av * bv;
        }
        c.push(s);
      }
    }
  }
  return c;
}

describe('matmul', () => {
  const sizes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [65, 33, 70], [100, 41, 300], [8, 2100, 20]];
  for (const dtype of ['f64', 'f32'] as const) {
    for (const [m, n, k] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`${dtype} ${m}×${n}×${k} transA=${transA} transB=${transB}`, () => {
            const av = randn(m * k, m + 7 * k), bv = randn(k * n, n + 11 * k);
            const q = dtype === 'f32' ? f32 : (v: number) => v;
            const [c] = runKernel('matmul', [make(av, [m * k], dtype), make(bv, [k * n], dtype)], [{ shape: [m, n], dtype }], {
              batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0,
            });
            const ref = naiveMatmul(av.map(q), bv.map(q), 1, m, n, k, transA, transB, 0, 0, 0, 0);
            // Rounding of f32 products of sums ~√k in size: relative plus a k-scaled absolute tolerance.
            expectClose(read(c!), ref.map(q), TOL[dtype], dtype === 'f32' ? 1e-6 * Math.sqrt(k) : 1e-13 * Math.sqrt(k));
          });
        }
      }
    }
  }

  // 9×17×11 takes the unblocked path, 13×19×40 the packed one.
  for (const [m, n, k] of [[9, 17, 11], [13, 19, 40]] as const) {
    for (const [aBroadcast, bBroadcast] of [[false, false], [true, false], [false, true]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`batches ${m}×${n}×${k} with offsets (broadcast A=${aBroadcast}, B=${bBroadcast}, transA=${transA}, transB=${transB})`, () => {
            const batch = 3, pad = 5;
            const aBS = aBroadcast ? 0 : m * k, bBS = bBroadcast ? 0 : k * n;
            const av = randn(pad + (aBroadcast ? 1 : batch) * m * k, 21), bv = randn(pad + (bBroadcast ? 1 : batch) * k * n, 22);
            const aT = make(av, [av.length], 'f64'), bT = make(bv, [bv.length], 'f64');
            const [c] = runKernel('matmul', [strided(aT, [m * k], [1], pad), strided(bT, [k * n], [1], pad)], [{ shape: [batch, m, n], dtype: 'f64' }], {
              batch, m, n, k, transA, transB, aBatchStride: aBS, bBatchStride: bBS,
            });
            expectClose(read(c!), naiveMatmul(av, bv, batch, m, n, k, transA, transB, aBS, bBS, pad, pad), 1e-12, 1e-13);
          });
        }
      }
    }
  }

  it('writes zeros when k = 0', () => {
    const e = make([], [0], 'f32');
    const [c] = runKernel('matmul', [e, e], [{ shape: [2, 3], dtype: 'f32' }], { batch: 1, m: 2, n: 3, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    expect(read(c!)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

// ---------------------------------------------------------------- reductions

describe('reductions', () => {
  function naiveReduce(op: string, x: number[], outer: number, red: number, inner: number): number[] {
    const out: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const vals = Array.from({ length: red }, (_, r) => x[(o * red + r) * inner + j]!);
        if (op === 'sum') out.push(vals.reduce((s, v) => s + v, 0));
        else if (op === 'max') out.push(Math.max(...vals));
        else if (op === 'min') out.push(Math.min(...vals));
        else out.push(vals.indexOf(Math.max(...vals)));
      }
    }
    return out;
  }

  for (const [outer, red, inner] of [[1, 10, 1], [3, 7, 1], [2, 5, 4], [1, 6, 9], [4, 1, 3]] as const) {
    for (const dtype of ['f32', 'f64'] as const) {
      it(`sum/max/min/argmax ${dtype} [${outer}, ${red}, ${inner}]`, () => {
        const xv = randn(outer * red * inner, outer * 100 + red * 10 + inner).map((v) => (dtype === 'f32' ? f32(v) : v));
        const x = make(xv, [outer, red, inner], dtype);
        for (const op of ['sum', 'max', 'min', 'argmax']) {
          const outDType = op === 'argmax' ? 'i32' : dtype;
          const [y] = runKernel(op, [x], [{ shape: [outer, inner], dtype: outDType }], { outer, reduce: red, inner });
          const ref = naiveReduce(op, xv, outer, red, inner);
          if (op === 'sum') expectClose(read(y!), ref.map(dtype === 'f32' ? f32 : (v) => v), TOL[dtype], 1e-7);
          else expect(read(y!), op).toEqual(ref);
        }
      });
    }
  }

  it('argmax picks the first maximum, max/min propagate NaN, i32 sums exactly', () => {
    const x = make([1, 5, 5, 2, 7, 7, 7, 0], [2, 4], 'f32');
    expect(read(runKernel('argmax', [x], [{ shape: [2], dtype: 'i32' }], { outer: 2, reduce: 4, inner: 1 })[0]!)).toEqual([1, 0]);
    const xt = make([3, 3, 9, 1, 9, 1], [3, 2], 'f64'); // columns: [3, 9, 9] and [3, 1, 1]
    expect(read(runKernel('argmax', [xt], [{ shape: [2], dtype: 'i32' }], { outer: 1, reduce: 3, inner: 2 })[0]!)).toEqual([1, 0]);
    const n = make([1, NaN, 3, 2, 4, 0], [2, 3], 'f64');
    expect(read(runKernel('max', [n], [{ shape: [2], dtype: 'f64' }], { outer: 2, reduce: 3, inner: 1 })[0]!)).toEqual([NaN, 4]);
    expect(read(runKernel('min', [n], [{ shape: [3], dtype: 'f64' }], { outer: 1, reduce: 2, inner: 3 })[0]!)).toEqual([1, NaN, 0]);
    const i = make([2000000000, 2000000000, -7, 1, 2, 3], [2, 3], 'i32');
    expect(read(runKernel('sum', [i], [{ shape: [3], dtype: 'i32' }], { outer: 1, reduce: 2, inner: 3 })[0]!)).toEqual([2000000001, 2000000002, -4]);
    expect(read(runKernel('max', [i], [{ shape: [2], dtype: 'i32' }], { outer: 2, reduce: 3, inner: 1 })[0]!)).toEqual([2000000000, 3]);
  });

  it('reads inputs at a non-zero offset', () => {
    const base = make([100, 1, 2, 3, 4], [5], 'f32');
    const [y] = runKernel('sum', [strided(base, [2, 2], [2, 1], 1)], [{ shape: [2], dtype: 'f32' }], { outer: 2, reduce: 2, inner: 1 });
    expect(read(y!)).toEqual([3, 7]);
  });
});

// ---------------------------------------------------------------- gather / scatterAdd

describe('gather and scatterAdd', () => {
  it('gathers rows and scatter-adds them back, accumulating duplicates', () => {
    const v = 5, d = 3;
    const tv = randn(v * d, 31);
    const table = make(tv, [v, d], 'f64');
    const idx = make([4, 0, 4, 2], [4], 'i32');
    const [y] = runKernel('gather', [table, idx], [{ shape: [4, d], dtype: 'f64' }], { v, d, n: 4 });
    expect(read(y!)).toEqual([4, 0, 4, 2].flatMap((r) => tv.slice(r * d, r * d + d)));
    const src = make(randn(4 * d, 32), [4, d], 'f64');
    const sv = read(src);
    const [z] = runKernel('scatterAdd', [src, idx], [{ shape: [v, d], dtype: 'f64' }], { v, d, n: 4 });
    const exp = new Array(v * d).fill(0);
    [4, 0, 4, 2].forEach((r, i) => { for (let j = 0; j < d; j++) exp[r * d + j] += sv[i * d + j]!; });
    expect(read(z!)).toEqual(exp);
  });

  it('throws a RangeError naming the bad index and the table size', () => {
    const table = make(randn(8, 1), [4, 2], 'f32');
    expect(() => runKernel('gather', [table, make([1, 4], [2], 'i32')], [{ shape: [2, 2], dtype: 'f32' }], { v: 4, d: 2, n: 2 }))
      .toThrow(/index 4 .*4 rows/);
    expect(() => runKernel('gather', [table, make([-1], [1], 'i32')], [{ shape: [1, 2], dtype: 'f32' }], { v: 4, d: 2, n: 1 }))
      .toThrow(RangeError);
    expect(() => runKernel('scatterAdd', [make([1, 2], [1, 2], 'f32'), make([9], [1], 'i32')], [{ shape: [4, 2], dtype: 'f32' }], { v: 4, d: 2, n: 1 }))
      .toThrow(/index 9 .*4 rows/);
  });
});

// ---------------------------------------------------------------- softmax

describe('softmax and logSoftmax', () => {
  function naiveSoftmax(x: number[], rows: number, cols: number, log: boolean): number[] {
    const out: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = x.slice(r * cols, r * cols + cols);
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      for (const v of row) out.push(log ? v - m - Math.log(s) : Math.exp(v - m) / s);
    }
    return out;
  }

  for (const dtype of ['f32', 'f64'] as const) {
    it(`matches the naive formula in ${dtype}, also for huge logits and -Infinity masks`, () => {
      const rows = 4, cols = 7;
      const xv = randn(rows * cols, 41, 5).map((v) => (dtype === 'f32' ? f32(v) : v));
      xv[3] = 1000; xv[4] = 1001; // would overflow without the max shift
      xv[10] = -Infinity;
      const x = make(xv, [rows, cols], dtype);
      for (const log of [false, true]) {
        const [y] = runKernel(log ? 'logSoftmax' : 'softmax', [x], [{ shape: [rows, cols], dtype }], { rows, cols });
        const ref = naiveSoftmax(xv, rows, cols, log);
        expectClose(read(y!), ref.map(dtype === 'f32' ? f32 : (v) => v), TOL[dtype], dtype === 'f32' ? 1e-7 : 1e-15);
      }
    });
  }
});

// ---------------------------------------------------------------- norms

/** Central-difference gradient of Σ f(inputs)·w with respect to one input array. */
function numericGrad(f: () => number[], x: number[], w: number[], eps = 1e-6): number[] {
  const g: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const old = x[i]!;
    x[i] = old + eps;
    const up = f().reduce((s, v, j) => s + v * w[j]!, 0);
    x[i] = old - eps;
    const down = f().reduce((s, v, j) => s + v * w[j]!, 0);
    x[i] = old;
    g.push((up - down) / (2 * eps));
  }
  return g;
}

describe('layerNorm and rmsNorm', () => {
  const rows = 3, d = 6, eps = 1e-5;
  const xv = randn(rows * d, 51, 2), gv = randn(d, 52).map((v) => v + 1), bv = randn(d, 53), w = randn(rows * d, 54);

  function layerNormF64(x: number[], g: number[], b: number[]): { y: number[]; mean: number[]; rstd: number[] } {
    const [y, mean, rstd] = runKernel('layerNorm', [make(x, [rows, d], 'f64'), make(g, [d], 'f64'), make(b, [d], 'f64')],
      [{ shape: [rows, d], dtype: 'f64' }, { shape: [rows], dtype: 'f64' }, { shape: [rows], dtype: 'f64' }], { rows, d, eps });
    return { y: read(y!), mean: read(mean!), rstd: read(rstd!) };
  }
  function rmsNormF64(x: number[], g: number[]): { y: number[]; rstd: number[] } {
    const [y, rstd] = runKernel('rmsNorm', [make(x, [rows, d], 'f64'), make(g, [d], 'f64')],
      [{ shape: [rows, d], dtype: 'f64' }, { shape: [rows], dtype: 'f64' }], { rows, d, eps });
    return { y: read(y!), rstd: read(rstd!) };
  }

  it('layerNorm forward matches the definition (biased variance) in f64 and f32', () => {
    const { y, mean, rstd } = layerNormF64(xv, gv, bv);
    const ey: number[] = [], em: number[] = [], er: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = xv.slice(r * d, r * d + d);
      const mu = row.reduce((s, v) => s + v, 0) / d;
      const va = row.reduce((s, v) => s + (v - mu) ** 2, 0) / d;
      const rs = 1 / Math.sqrt(va + eps);
      em.push(mu); er.push(rs);
      row.forEach((v, j) => ey.push((v - mu) * rs * gv[j]! + bv[j]!));
    }
    expectClose(y, ey, 1e-12, 1e-14);
    expectClose(mean, em, 1e-12, 1e-14);
    expectClose(rstd, er, 1e-12);
    const [y32] = runKernel('layerNorm', [make(xv, [rows, d]), make(gv, [d]), make(bv, [d])],
      [{ shape: [rows, d], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }, { shape: [rows], dtype: 'f32' }], { rows, d, eps });
    expectClose(read(y32!), ey, 1e-5, 1e-6);
  });

  it('layerNormBackward matches finite differences of the forward (f64)', () => {
    const fwd = layerNormF64(xv, gv, bv);
    const [dx, dgamma, dbeta] = runKernel('layerNormBackward',
      [make(w, [rows, d], 'f64'), make(xv, [rows, d], 'f64'), make(fwd.mean, [rows], 'f64'), make(fwd.rstd, [rows], 'f64'), make(gv, [d], 'f64')],
      [{ shape: [rows, d], dtype: 'f64' }, { shape: [d], dtype: 'f64' }, { shape: [d], dtype: 'f64' }], { rows, d });
    const x = [...xv], g = [...gv], b = [...bv];
    const f = (): number[] => layerNormF64(x, g, b).y;
    expectClose(read(dx!), numericGrad(f, x, w), 1e-6, 1e-8);
    expectClose(read(dgamma!), numericGrad(f, g, w), 1e-6, 1e-8);
    expectClose(read(dbeta!), numericGrad(f, b, w), 1e-6, 1e-8);
  });

  it('rmsNorm forward matches the definition', () => {
    const { y, rstd } = rmsNormF64(xv, gv);
    const ey: number[] = [], er: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = xv.slice(r * d, r * d + d);
      const rs = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / d + eps);
      er.push(rs);
      row.forEach((v, j) => ey.push(v * rs * gv[j]!));
    }
    expectClose(y, ey, 1e-12, 1e-14);
    expectClose(rstd, er, 1e-12);
  });

  it('rmsNormBackward matches finite differences of the forward (f64)', () => {
    const fwd = rmsNormF64(xv, gv);
    const [dx, dgamma] = runKernel('rmsNormBackward',
      [make(w, [rows, d], 'f64'), make(xv, [rows, d], 'f64'), make(fwd.rstd, [rows], 'f64'), make(gv, [d], 'f64')],
      [{ shape: [rows, d], dtype: 'f64' }, { shape: [d], dtype: 'f64' }], { rows, d });
    const x = [...xv], g = [...gv];
    const f = (): number[] => rmsNormF64(x, g).y;
    expectClose(read(dx!), numericGrad(f, x, w), 1e-6, 1e-8);
    expectClose(read(dgamma!), numericGrad(f, g, w), 1e-6, 1e-8);
  });
});

// ---------------------------------------------------------------- cross-entropy

describe('crossEntropy', () => {
  const n = 5, c = 4, ignoreIndex = -100;
  const xv = randn(n * c, 61, 3);
  xv[0] = 500; // stable logsumexp
  const targets = [0, 3, -100, 1, 2];

  function ceF64(x: number[]): number[] {
    const [loss] = runKernel('crossEntropy', [make(x, [n, c], 'f64'), make(targets, [n], 'i32')], [{ shape: [n], dtype: 'f64' }], { n, c, ignoreIndex });
    return read(loss!);
  }

  it('computes -log_softmax(x)[t] per row with 0 for ignored rows', () => {
    const exp = targets.map((t, i) => {
      if (t === ignoreIndex) return 0;
      const row = xv.slice(i * c, i * c + c);
      const m = Math.max(...row);
      return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[t]!;
    });
    expectClose(ceF64(xv), exp, 1e-12, 1e-14);
    const [l32] = runKernel('crossEntropy', [make(xv, [n, c]), make(targets, [n], 'i32')], [{ shape: [n], dtype: 'f32' }], { n, c, ignoreIndex });
    expectClose(read(l32!), exp, 1e-5, 1e-6);
  });

  it('backward is (softmax - onehot)·dloss, zero for ignored rows, and matches finite differences', () => {
    const dl = [0.5, -1, 2, 1.5, 0.25];
    const [dx] = runKernel('crossEntropyBackward', [make(xv, [n, c], 'f64'), make(targets, [n], 'i32'), make(dl, [n], 'f64')],
      [{ shape: [n, c], dtype: 'f64' }], { n, c, ignoreIndex });
    const got = read(dx!);
    expect(got.slice(2 * c, 3 * c)).toEqual([0, 0, 0, 0]);
    const exp: number[] = [];
    targets.forEach((t, i) => {
      const row = xv.slice(i * c, i * c + c);
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, j) => exp.push(t === ignoreIndex ? 0 : (Math.exp(v - m) / s - (j === t ? 1 : 0)) * dl[i]!));
    });
    expectClose(got, exp, 1e-12, 1e-15);
    const x = [...xv];
    expectClose(got, numericGrad(() => ceF64(x), x, dl), 1e-6, 1e-7);
  });

  it('throws a RangeError for targets outside [0, c) that are not ignoreIndex', () => {
    const x = make(xv, [n, c], 'f64');
    expect(() => runKernel('crossEntropy', [x, make([0, 4, 0, 0, 0], [n], 'i32')], [{ shape: [n], dtype: 'f64' }], { n, c, ignoreIndex }))
      .toThrow(/target 4 at row 1 .*4 classes/);
    expect(() => runKernel('crossEntropyBackward', [x, make([0, 0, -1, 0, 0], [n], 'i32'), make(new Array(n).fill(1), [n], 'f64')],
      [{ shape: [n, c], dtype: 'f64' }], { n, c, ignoreIndex })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------- fill / random

describe('fill and random', () => {
  it('fills every dtype, encoding f16/bf16', () => {
    for (const dtype of ['f32', 'f64', 'i32', 'u8', 'i8', 'f16', 'bf16'] as const) {
      const [y] = runKernel('fill', [], [{ shape: [2, 3], dtype }], { value: 3 });
      expect(read(y!), dtype).toEqual([3, 3, 3, 3, 3, 3]);
    }
    const [h] = runKernel('fill', [], [{ shape: [2], dtype: 'f16' }], { value: 1 });
    expect(Array.from(h!.storage.handle as TypedArray)).toEqual([0x3c00, 0x3c00]);
  });

  function random(attrs: object, size: number, dtype: DType = 'f32'): number[] {
    return read(runKernel('random', [], [{ shape: [size], dtype }], attrs)[0]!);
  }

  it('is deterministic in (seed, counter) and uses uniformAt/normalAt of counter + i', () => {
    const a = random({ distribution: 'uniform', seed: 7, counter: 0 }, 64, 'f64');
    expect(random({ distribution: 'uniform', seed: 7, counter: 0 }, 64, 'f64')).toEqual(a);
    expect(random({ distribution: 'uniform', seed: 7, counter: 10 }, 54, 'f64')).toEqual(a.slice(10));
    expect(random({ distribution: 'uniform', seed: 8, counter: 0 }, 64, 'f64')).not.toEqual(a);
    expect(a).toEqual(a.map((_, i) => uniformAt(7, i)));
    const nrm = random({ distribution: 'normal', seed: 3, counter: 4294967295 }, 3, 'f64');
    expect(nrm).toEqual([normalAt(3, 4294967295), normalAt(3, 0), normalAt(3, 1)]);
    const u = random({ distribution: 'uniform', seed: 1, counter: 5, low: -2, high: 6 }, 10, 'f64');
    expect(u).toEqual(u.map((_, i) => -2 + 8 * uniformAt(1, 5 + i)));
  });

  it('has the right moments over 100k samples', () => {
    const N = 100_000;
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    const u = random({ distribution: 'uniform', seed: 123, counter: 0 }, N);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const g = random({ distribution: 'normal', seed: 456, counter: 0 }, N);
    const m = mean(g);
    const sd = Math.sqrt(mean(g.map((x) => (x - m) ** 2)));
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(sd - 1)).toBeLessThan(0.02);
    const g2 = random({ distribution: 'normal', seed: 456, counter: 0, mean: 3, std: 2 }, 1000, 'f64');
    expect(g2).toEqual(g2.map((_, i) => 3 + 2 * normalAt(456, i)));
    const bern = random({ distribution: 'bernoulli', seed: 789, counter: 0, p: 0.3 }, N);
    expect(new Set(bern)).toEqual(new Set([0, 1]));
    expect(Math.abs(mean(bern) - 0.3)).toBeLessThan(0.01);
    expect(random({ distribution: 'bernoulli', seed: 789, counter: 0, p: 0.3 }, 100, 'u8')).toEqual(bern.slice(0, 100));
  });
});
