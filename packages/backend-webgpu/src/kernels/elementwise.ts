import { DTypeError, ShapeError, type BinaryOp, type CompareOp, type DType, type KernelArgs, type UnaryOp, type View } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import {
  ENTRY_1D, MATH_WGSL, Params, WG, computeType, convertExpr, grid, header, loadFns, outAccess, storeFns,
} from '../shader.js';

/**
 * Elementwise kernels: unary, binary, compare, where, copy, cast. Every view
 * (output first) may be strided with an offset; stride 0 broadcasts. On the
 * host, axes of size 1 are dropped and neighbouring axes merged wherever all
 * views are contiguous across them, so the shader (specialised on the merged
 * rank, at most 8) usually indexes a single axis.
 */

const MAX_RANK = 8;

/** Merged layout: sizes innermost first; strides[v][d] of view v. */
interface Layout {
  size: number;
  sizes: number[];
  strides: number[][];
}

function mergeAxes(kernel: string, views: readonly View[]): Layout {
  const shape = views[0]!.shape;
  const rank = shape.length;
  for (const v of views) {
    if (v.shape.length !== rank || v.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`webgpu kernel '${kernel}': view shapes differ (${views.map((x) => `[${x.shape.join(', ')}]`).join(' vs ')}); core must broadcast inputs to the output shape`);
    }
  }
  const sizes: number[] = [];
  const strides: number[][] = views.map(() => []);
  let size = 1;
  for (let a = rank - 1; a >= 0; a--) {
    const n = shape[a]!;
    size *= n;
    if (n === 1) continue;
    const d = sizes.length - 1;
    if (d >= 0 && views.every((v, i) => v.strides[a] === strides[i]![d]! * sizes[d]!)) {
      sizes[d] = sizes[d]! * n;
    } else {
      sizes.push(n);
      views.forEach((v, i) => strides[i]!.push(v.strides[a]!));
    }
  }
  if (sizes.length > MAX_RANK) {
    throw new ShapeError(`webgpu kernel '${kernel}': views of rank ${rank} need ${sizes.length} strided axes after merging; at most ${MAX_RANK} are supported`);
  }
  return { size, sizes, strides };
}

interface EwProgram {
  /** Kernel family and variant for the pipeline key, e.g. 'unary:exp'. */
  name: string;
  views: readonly View[];
  /** WGSL statement storing element `o0` of y from inputs at offsets o1.. (may use ld_xK / bits_xK). */
  body: string;
  math?: boolean;
  /** Bind input k to this buffer instead of its view's storage (copy from an overlapping snapshot). */
  inputBuffers?: (GPUBuffer | undefined)[];
}

function runElementwise(backend: WebGpuBackend, p: EwProgram): void {
  const { size, sizes, strides } = mergeAxes(p.name, p.views);
  if (size === 0) return;
  if (size > 0xffffffff) throw new RangeError(`webgpu kernel '${p.name}': ${size} elements exceed 2^32`);
  const rank = sizes.length;
  const nv = p.views.length;
  const dtypes = p.views.map((v) => v.dtype);
  const key = `ew:${p.name}:${dtypes.join(',')}:r${rank}`;
  const params = new Params().u32(size);
  for (const v of p.views) params.i32v(v.offset);
  for (let d = 0; d < rank; d++) {
    params.u32(sizes[d]!);
    for (let v = 0; v < nv; v++) params.i32v(strides[v]![d]!);
  }
  const code = (): string => {
    const decl = [{ name: 'y', access: outAccess(dtypes[0]!) }, ...dtypes.slice(1).map((_, k) => ({ name: `x${k}`, access: 'read' as const }))];
    const lines: string[] = [];
    lines.push(`  if (gid >= pu(0u)) { return; }`);
    lines.push(`  var rem = gid;`);
    for (let v = 0; v < nv; v++) lines.push(`  var o${v}: i32 = pi(${1 + v}u);`);
    for (let d = 0; d < rank; d++) {
      const base = 1 + nv + d * (1 + nv);
      if (d < rank - 1) lines.push(`  { let n = pu(${base}u); let c = i32(rem % n); rem = rem / n;`);
      else lines.push(`  { let c = i32(rem);`);
      for (let v = 0; v < nv; v++) lines.push(`    o${v} = o${v} + c * pi(${base + 1 + v}u);`);
      lines.push(`  }`);
    }
    lines.push(`  ${p.body}`);
    return `${header(decl)}
${dtypes.slice(1).map((d, k) => loadFns(`x${k}`, d)).join('\n')}
${storeFns('y', dtypes[0]!)}
${p.math ? MATH_WGSL : ''}
${ENTRY_1D}
${lines.join('\n')}
}`;
  };
  const bindings = [
    { buffer: backend.bufferOf(p.views[0]!), access: outAccess(dtypes[0]!) },
    ...p.views.slice(1).map((v, k) => ({ buffer: p.inputBuffers?.[k] ?? backend.bufferOf(v), access: 'read' as const })),
  ];
  backend.dispatch({ key, code, bindings, params, workgroups: grid(Math.ceil(size / WG)) });
}

/** Input k's value / bits at its offset. */
const ld = (k: number): string => `ld_x${k}(u32(o${k + 1}))`;
const bits = (k: number): string => `bits_x${k}(u32(o${k + 1}))`;

function checkSame(kernel: string, views: readonly View[]): DType {
  const d = views[0]!.dtype;
  if (views.some((v) => v.dtype !== d)) throw new DTypeError(`webgpu kernel '${kernel}': dtype mismatch (${views.map((v) => v.dtype).join(', ')})`);
  return d;
}

function checkAllowed(kernel: string, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype)) {
    const hint = dtype === 'f16' || dtype === 'bf16' ? '; cast to f32 first' : `; supported: ${allowed.join(', ')}`;
    throw new DTypeError(`webgpu kernel '${kernel}' does not support dtype ${dtype}${hint}`);
  }
}

const F32: readonly DType[] = ['f32'];
const F32_I32: readonly DType[] = ['f32', 'i32'];
const NUMERIC: readonly DType[] = ['f32', 'i32', 'u8', 'i8'];

const UNARY_F32: Record<UnaryOp, string> = {
  neg: '-v',
  abs: 'abs(v)',
  sign: 'select(select(select(select(0.0, v, v != 0.0), -1.0, v < 0.0), 1.0, v > 0.0), v, is_nan(v))',
  exp: 'm_exp(v)',
  log: 'm_log(v)',
  sqrt: 'select(sqrt(v), f_nan(), v < 0.0)',
  rsqrt: 'select(1.0 / sqrt(v), f_nan(), v < 0.0)',
  recip: '1.0 / v',
  square: 'v * v',
  sin: 'm_sin(v)',
  cos: 'm_cos(v)',
  tanh: 'm_tanh(v)',
  sigmoid: 'm_sigmoid(v)',
  relu: 'select(v, 0.0, v < 0.0)',
  erf: 'm_erf(v)',
  gelu: 'm_gelu(v)',
  geluTanh: 'm_gelu_tanh(v)',
  silu: 'v * m_sigmoid(v)',
};
const UNARY_I32: Partial<Record<UnaryOp, string>> = { neg: '-v', abs: 'abs(v)', sign: 'sign(v)' };

export function unaryKernel(op: UnaryOp, backend: WebGpuBackend, args: KernelArgs): void {
  const x = args.inputs[0]!, y = args.outputs[0]!;
  const dtype = checkSame(op, [y, x]);
  checkAllowed(op, dtype, op in UNARY_I32 ? F32_I32 : F32);
  const expr = dtype === 'i32' ? UNARY_I32[op]! : UNARY_F32[op];
  runElementwise(backend, { name: `unary:${op}`, views: [y, x], body: `let v = ${ld(0)}; st_y(u32(o0), ${expr});`, math: dtype === 'f32' });
}

const BINARY_F32: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'm_pow(a, b)',
  maximum: 'select(b, a, a > b || is_nan(a))',
  minimum: 'select(b, a, a < b || is_nan(a))',
};
const BINARY_I32: Partial<Record<BinaryOp, string>> = { add: 'a + b', sub: 'a - b', mul: 'a * b', maximum: 'max(a, b)', minimum: 'min(a, b)' };

export function binaryKernel(op: BinaryOp, backend: WebGpuBackend, args: KernelArgs): void {
  const a = args.inputs[0]!, b = args.inputs[1]!, z = args.outputs[0]!;
  const dtype = checkSame(op, [z, a, b]);
  checkAllowed(op, dtype, op in BINARY_I32 ? F32_I32 : F32);
  const expr = dtype === 'i32' ? BINARY_I32[op]! : BINARY_F32[op];
  runElementwise(backend, { name: `binary:${op}`, views: [z, a, b], body: `let a = ${ld(0)}; let b = ${ld(1)}; st_y(u32(o0), ${expr});`, math: dtype === 'f32' });
}

const COMPARE: Record<CompareOp, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

export function compareKernel(op: CompareOp, backend: WebGpuBackend, args: KernelArgs): void {
  const a = args.inputs[0]!, b = args.inputs[1]!, z = args.outputs[0]!;
  const dtype = checkSame(op, [a, b]);
  checkAllowed(op, dtype, NUMERIC);
  if (z.dtype !== 'u8') throw new DTypeError(`webgpu kernel '${op}' writes u8 output, got ${z.dtype}`);
  let cond = `a ${COMPARE[op]} b`;
  // NaN compares unequal to everything; tested on the bits because WGSL may fold float NaN tests.
  if (dtype === 'f32') cond = op === 'ne' ? `(is_nan(a) || is_nan(b) || ${cond})` : `(!is_nan(a) && !is_nan(b) && ${cond})`;
  runElementwise(backend, { name: `compare:${op}`, views: [z, a, b], body: `let a = ${ld(0)}; let b = ${ld(1)}; st_y(u32(o0), select(0u, 1u, ${cond}));` });
}

export function whereKernel(backend: WebGpuBackend, args: KernelArgs): void {
  const c = args.inputs[0]!, a = args.inputs[1]!, b = args.inputs[2]!, y = args.outputs[0]!;
  if (c.dtype !== 'u8') throw new DTypeError(`webgpu kernel 'where' expects a u8 condition, got ${c.dtype}; compare ops produce u8`);
  checkSame('where', [y, a, b]);
  runElementwise(backend, { name: 'where', views: [y, c, a, b], body: `stb_y(u32(o0), select(${bits(2)}, ${bits(1)}, ${bits(0)} != 0u));` });
}

/**
 * y[...] = x[...] for views of one shape and dtype (y may be strided). When
 * both live in one storage the source is snapshotted first, so overlapping
 * copies (x[1:] = x[:-1]) read the old values, as on the CPU.
 */
export function copyBetween(backend: WebGpuBackend, x: View, y: View): void {
  checkSame('copy', [y, x]);
  let snapshot: GPUBuffer | undefined;
  if (x.storage === y.storage) {
    const src = backend.bufferOf(x);
    snapshot = backend.scratch(src.size);
    backend.copyBuffer(src, 0, snapshot, 0, src.size);
  }
  try {
    runElementwise(backend, { name: 'copy', views: [y, x], body: `stb_y(u32(o0), ${bits(0)});`, inputBuffers: [snapshot] });
  } finally {
    if (snapshot) backend.releaseScratch(snapshot);
  }
}

export function copyKernel(backend: WebGpuBackend, args: KernelArgs): void {
  copyBetween(backend, args.inputs[0]!, args.outputs[0]!);
}

/** Converts dtype: float→int truncates toward zero and wraps (NaN/Inf→0); 16-bit floats round to nearest even. */
export function castKernel(backend: WebGpuBackend, args: KernelArgs): void {
  const x = args.inputs[0]!, y = args.outputs[0]!;
  if (x.dtype === y.dtype) {
    runElementwise(backend, { name: 'copy', views: [y, x], body: `stb_y(u32(o0), ${bits(0)});` });
    return;
  }
  computeType(x.dtype);
  computeType(y.dtype);
  runElementwise(backend, { name: 'cast', views: [y, x], body: `st_y(u32(o0), ${convertExpr(ld(0), x.dtype, y.dtype)});` });
}
