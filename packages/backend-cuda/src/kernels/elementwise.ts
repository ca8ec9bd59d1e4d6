import { DTypeError, bytesPerElement, type BinaryOp, type CompareOp, type DType, type KernelArgs, type UnaryOp, type View } from '@adapterkit/core';
import type { CudaBackend } from '../backend.js';
import { CudaParams } from '../params.js';
import { BLOCK, PRELUDE, bitsType, blocksFor, cudaType } from './prelude.js';
import { coalesce, packStrided, stridedStructSource, type StridedLayout } from './strided.js';

/**
 * The strided elementwise kernels: unary, binary, compare, where, copy, cast.
 * Every view (output first) may have any strides and offset (stride 0
 * broadcasts). Views are coalesced on the host (strided.ts), so contiguous
 * tensors index with one axis; each (op, dtypes, rank, index width) is its
 * own compiled variant. Arithmetic runs in f32 for f32/f16/bf16 (16-bit
 * values are converted on load and store) and in int for i32.
 */

/** y = f(x) for float x (IEEE f32; the accurate CUDA math functions, no fast-math). */
const UNARY_FLOAT: Record<UnaryOp, string> = {
  neg: '-x',
  abs: 'fabsf(x)',
  sign: 'x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x == 0.0f ? 0.0f : x', // ±0 → +0, NaN passes through (as the reference)
  exp: 'expf(x)',
  log: 'logf(x)',
  sqrt: 'sqrtf(x)',
  rsqrt: '1.0f / sqrtf(x)',
  recip: '1.0f / x',
  square: 'x * x',
  sin: 'sinf(x)',
  cos: 'cosf(x)',
  tanh: 'tanhf(x)',
  sigmoid: 'sigmoid_f(x)',
  relu: 'x < 0.0f ? 0.0f : x', // keeps NaN
  erf: 'erff(x)',
  gelu: '0.5f * x * erfcf(-x * 0.70710678118654752f)', // erfc keeps accuracy for very negative x
  geluTanh: '0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)))',
  silu: 'x * sigmoid_f(x)',
};

/** Integer unary ops (i32 wraps like Int32Array: -(-2^31) = -2^31). */
const UNARY_INT: Partial<Record<UnaryOp, string>> = {
  neg: '(int)(0u - (u32)x)',
  abs: 'x < 0 ? (int)(0u - (u32)x) : x',
  sign: 'x > 0 ? 1 : x < 0 ? -1 : 0',
};

const BINARY_FLOAT: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'powf(a, b)',
  maximum: '(a > b || a != a) ? a : b', // NaN wins
  minimum: '(a < b || a != a) ? a : b',
};

const BINARY_INT: Partial<Record<BinaryOp, string>> = {
  add: '(int)((u32)a + (u32)b)',
  sub: '(int)((u32)a - (u32)b)',
  mul: '(int)((u32)a * (u32)b)',
  maximum: 'a > b ? a : b',
  minimum: 'a < b ? a : b',
};

const COMPARE: Record<CompareOp, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

const HELPERS = String.raw`
__device__ __forceinline__ float sigmoid_f(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}`;

/** A strided kernel's source: pointer types (output first) and the statement run per element with offsets o[k]. */
export function stridedSource(ptrTypes: readonly string[], body: string, rank: number, narrow: boolean): string {
  const args = ptrTypes.map((t, k) => (k === 0 ? `${t}* __restrict__ p0` : `const ${t}* __restrict__ p${k}`)).join(', ');
  return `${PRELUDE}
${HELPERS}
${stridedStructSource(rank, ptrTypes.length, narrow)}
extern "C" __global__ void k(${args}, IDX n, Idx ix) {
  FOR_EACH(i, n) {
    IDX o[NOPS];
    locate(ix, i, o);
    ${body}
  }
}`;
}

/** Variant key suffix of a layout: rank and index width. */
function layoutKey(l: StridedLayout): string {
  return `r${l.shape.length}:${l.narrow ? 'n' : 'w'}`;
}

/**
 * Launches a strided kernel over `views` (output first). `bases` overrides the
 * views' storage addresses (for scratch memory that is not a storage).
 */
export function runStrided(
  b: CudaBackend, kernel: string, key: string, views: readonly View[], ptrTypes: readonly string[], body: string, bases?: readonly number[],
): void {
  const l = coalesce(kernel, views);
  if (l.n === 0) return;
  const fn = b.fn(`${key}:${layoutKey(l)}`, () => stridedSource(ptrTypes, body, l.shape.length, l.narrow), 'k');
  const p = new CudaParams();
  views.forEach((v, i) => p.ptr(bases ? bases[i]! : b.ptr(v.storage)));
  if (l.narrow) p.i32(l.n);
  else p.i64(l.n);
  packStrided(p, l);
  b.launch(fn, blocksFor(l.n), BLOCK, p);
}

function sameDType(kernel: string, views: readonly View[]): DType {
  const d = views[0]!.dtype;
  if (views.some((v) => v.dtype !== d)) throw new DTypeError(`cuda kernel '${kernel}': dtype mismatch (${views.map((v) => v.dtype).join(', ')})`);
  return d;
}

/** The per-element statement of a unary op on dtype d (offsets o[1] → o[0]). */
export function unaryBody(op: UnaryOp, d: DType): string {
  const t = cudaType(op, d);
  const expr = t.compute === 'float' ? UNARY_FLOAT[op] : d === 'i32' ? UNARY_INT[op] : undefined;
  if (!expr) throw new DTypeError(`cuda kernel '${op}' does not support dtype ${d}; supported: f32, f16, bf16${UNARY_INT[op] ? ', i32' : ''}`);
  return `${t.compute} x = ${t.load('p1[o[1]]')}; p0[o[0]] = ${t.store(`(${expr})`)};`;
}

export function binaryBody(op: BinaryOp, d: DType): string {
  const t = cudaType(op, d);
  const expr = t.compute === 'float' ? BINARY_FLOAT[op] : d === 'i32' ? BINARY_INT[op] : undefined;
  if (!expr) throw new DTypeError(`cuda kernel '${op}' does not support dtype ${d}; supported: f32, f16, bf16${BINARY_INT[op] ? ', i32' : ''}`);
  return `${t.compute} a = ${t.load('p1[o[1]]')}; ${t.compute} b = ${t.load('p2[o[2]]')}; p0[o[0]] = ${t.store(`(${expr})`)};`;
}

export function compareBody(op: CompareOp, d: DType): string {
  const t = cudaType(op, d);
  return `p0[o[0]] = (${t.load('p1[o[1]]')} ${COMPARE[op]} ${t.load('p2[o[2]]')}) ? 1 : 0;`;
}

export function unaryKernel(op: UnaryOp, b: CudaBackend, args: KernelArgs): void {
  const y = args.outputs[0]!, x = args.inputs[0]!;
  const d = sameDType(op, [y, x]);
  const t = cudaType(op, d);
  runStrided(b, op, `unary:${op}:${d}`, [y, x], [t.ctype, t.ctype], unaryBody(op, d));
}

export function binaryKernel(op: BinaryOp, b: CudaBackend, args: KernelArgs): void {
  const z = args.outputs[0]!, a = args.inputs[0]!, c = args.inputs[1]!;
  const d = sameDType(op, [z, a, c]);
  const t = cudaType(op, d);
  runStrided(b, op, `binary:${op}:${d}`, [z, a, c], [t.ctype, t.ctype, t.ctype], binaryBody(op, d));
}

export function compareKernel(op: CompareOp, b: CudaBackend, args: KernelArgs): void {
  const z = args.outputs[0]!, a = args.inputs[0]!, c = args.inputs[1]!;
  const d = sameDType(op, [a, c]);
  if (z.dtype !== 'u8') throw new DTypeError(`cuda kernel '${op}' writes u8 output, got ${z.dtype}`);
  const t = cudaType(op, d);
  runStrided(b, op, `compare:${op}:${d}`, [z, a, c], ['u8', t.ctype, t.ctype], compareBody(op, d));
}

/** y = cond ? a : b, moving bits (any dtype). */
export function whereKernel(b: CudaBackend, args: KernelArgs): void {
  const y = args.outputs[0]!, [cond, a, c] = args.inputs as [View, View, View];
  if (cond.dtype !== 'u8') throw new DTypeError(`cuda kernel 'where' expects a u8 condition, got ${cond.dtype}; compare ops produce u8`);
  const d = sameDType('where', [y, a, c]);
  const bits = bitsType(d);
  runStrided(b, 'where', `where:${bits}`, [y, cond, a, c], [bits, 'u8', bits, bits], 'p0[o[0]] = p1[o[1]] ? p2[o[2]] : p3[o[3]];');
}

/** y[...] = x[...] between views of one dtype; both may be strided. Overlapping views of one storage go through a temporary. */
export function copyKernel(b: CudaBackend, args: KernelArgs): void {
  const y = args.outputs[0]!, x = args.inputs[0]!;
  const d = sameDType('copy', [y, x]);
  copyBetween(b, x, y, d);
}

export function copyBetween(b: CudaBackend, x: View, y: View, d: DType = x.dtype): void {
  const bits = bitsType(d);
  if (x.storage !== y.storage) {
    runStrided(b, 'copy', `copy:${bits}`, [y, x], [bits, bits], 'p0[o[0]] = p1[o[1]];');
    return;
  }
  // Same storage (x[1:] = x[:-1]): snapshot the source first, as the reference does.
  const n = x.shape.reduce((p, s) => p * s, 1);
  const tmp = b.scratch(n * bytesPerElement(d));
  try {
    const tv: View = { storage: x.storage, dtype: d, shape: x.shape, strides: stridesOf(x.shape), offset: 0 };
    const body = 'p0[o[0]] = p1[o[1]];';
    runStrided(b, 'copy', `copy:${bits}`, [tv, x], [bits, bits], body, [tmp.ptr, b.ptr(x.storage)]);
    runStrided(b, 'copy', `copy:${bits}`, [y, tv], [bits, bits], body, [b.ptr(y.storage), tmp.ptr]);
  } finally {
    b.releaseScratch(tmp);
  }
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * The CUDA expression converting `v` (a stored value of `from`) to the stored
 * value of `to`, with the reference's semantics: float → int truncates toward
 * zero and wraps modulo 2^bits (NaN → 0); int → int wraps; f16/bf16 go
 * through f32 exactly as core's dtype.ts encodes them.
 */
export function castExpr(from: DType, to: DType, v: string): string {
  const f = cudaType('cast', from), t = cudaType('cast', to);
  if (from === to) return v;
  const value = f.load(v); // float or int
  if (t.compute === 'float') {
    // ints reach f32 first (round to nearest), as dtype.ts does through its f32 scratch.
    return t.store(f.compute === 'float' ? value : `(float)(${value})`);
  }
  const u = f.compute === 'float' ? `wrap_u32((double)(${value}))` : `(u32)(${value})`;
  switch (to) {
    case 'i32': return `(i32)${u}`;
    case 'u8': return `(u8)(${u} & 0xffu)`;
    case 'i8': return `(i8)(u8)(${u} & 0xffu)`;
    default: throw new DTypeError(`cuda kernel 'cast': unsupported target ${to}`);
  }
}

export function castKernel(b: CudaBackend, args: KernelArgs): void {
  const y = args.outputs[0]!, x = args.inputs[0]!;
  const f = cudaType('cast', x.dtype), t = cudaType('cast', y.dtype);
  runStrided(b, 'cast', `cast:${x.dtype}:${y.dtype}`, [y, x], [t.ctype, f.ctype], `p0[o[0]] = ${castExpr(x.dtype, y.dtype, 'p1[o[1]]')};`);
}
