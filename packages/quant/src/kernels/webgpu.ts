import type { Backend, KernelArgs, View } from '@adapterkit/core';
import { INV_127 } from '../formats/int8.js';
import type { Quant4Attrs, Quant8Attrs } from './contract.js';

/**
 * WGSL kernels for the 'webgpu' backend (@adapterkit/backend-webgpu). Only
 * the backend's public kernel API is used — `dispatch({ key, code, bindings,
 * params, workgroups })` and `bufferOf(view)` — typed structurally here, so
 * this package does not depend on the WebGPU package at run time.
 *
 * Layout conventions of that backend: every binding is `array<u32>` (u8/i8
 * packed four per word, little-endian), params are a 256-byte uniform after
 * the storage bindings, read with pu(i) / pf(i).
 *
 * Matmuls use 16×16 workgroups: each stages a 16×32 slice of the data and a
 * 16×32 (backward: 32×16) tile of W — dequantized on the fly from the packed
 * codes — in workgroup memory, then each invocation accumulates one output.
 * W is never written out in dense form.
 */
interface WebGpuLike extends Backend {
  dispatch(spec: {
    key: string;
    code: () => string;
    bindings: readonly { buffer: unknown; access: 'read' | 'write' }[];
    params?: { words: Uint32Array };
    workgroups: readonly [number, number?, number?];
  }): void;
  bufferOf(v: View): unknown;
}

const PARAM_WORDS = 64;

/** Kernel parameters as u32 words (the backend's uniform arena holds 64 per dispatch). */
class Params {
  readonly words = new Uint32Array(PARAM_WORDS);
  private readonly f = new Float32Array(this.words.buffer);
  private n = 0;
  u32(v: number): this {
    this.words[this.n++] = v >>> 0;
    return this;
  }
  f32(v: number): this {
    this.f[this.n++] = v;
    return this;
  }
}

function header(names: string[], writable: string): string {
  const decl = names.map((n, i) => `@group(0) @binding(${i}) var<storage, ${n === writable ? 'read_write' : 'read'}> ${n}: array<u32>;`);
  return `${decl.join('\n')}
struct Params { v: array<vec4<u32>, ${PARAM_WORDS / 4}> }
@group(0) @binding(${names.length}) var<uniform> P: Params;
fn pu(i: u32) -> u32 { return P.v[i >> 2u][i & 3u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
fn byte_of(word: u32, i: u32) -> u32 { return (word >> ((i & 3u) * 8u)) & 0xffu; }
`;
}

// Params shared by both formats: 0 M, 1 N, 2 K, 3 data offset, 4 weight offset (bytes), then format fields, then the output offset.

/** W[e] of a 4-bit matrix (params 5 absmax off, 6 nested absmax off, 7 map off, 8 nested map off, 10 block, 11 nested block, 12 offset). */
function w4(nested: boolean): string {
  const scale = nested
    ? `let ai = pu(5u) + b;
  let q = byte_of(am[ai >> 2u], ai);
  return bitcast<f32>(ncode[pu(8u) + q]) * bitcast<f32>(nabs[pu(6u) + b / pu(11u)]) + pf(12u);`
    : `return bitcast<f32>(am[pu(5u) + b]);`;
  return `fn scale_of(b: u32) -> f32 {
  ${scale}
}
fn w_at(e: u32) -> f32 {
  let bi = pu(4u) + (e >> 1u);
  let byte = byte_of(w[bi >> 2u], bi);
  let nib = select(byte & 15u, byte >> 4u, (e & 1u) == 0u);
  return bitcast<f32>(code[pu(7u) + nib]) * scale_of(e / pu(10u));
}`;
}

/** W[e] of an int8 matrix (param 5 SCB offset): fround(fround(q·s)·fround(1/127)). */
const W8 = `fn w_at(e: u32) -> f32 {
  let bi = pu(4u) + e;
  let q = bitcast<i32>(byte_of(w[bi >> 2u], bi) << 24u) >> 24u;
  let s = bitcast<f32>(scb[pu(5u) + e / pu(2u)]);
  return (f32(q) * s) * ${INV_127.toPrecision(9)};
}`;

/** y[m, n] = Σ_k x[m, k] W[n, k]: out offset at param `outParam`. */
function forwardMain(outParam: number): string {
  return `var<workgroup> Xs: array<f32, 512>;
var<workgroup> Ws: array<f32, 512>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let m0 = wid.y * 16u; let n0 = wid.x * 16u;
  var acc = 0.0;
  for (var k0 = 0u; k0 < K; k0 = k0 + 32u) {
    for (var l = 0u; l < 2u; l = l + 1u) {
      let e = tid + l * 256u;
      let r = e / 32u; let c = e % 32u; let kk = k0 + c;
      var xv = 0.0;
      if (m0 + r < M && kk < K) { xv = bitcast<f32>(x[pu(3u) + (m0 + r) * K + kk]); }
      Xs[e] = xv;
      var wv = 0.0;
      if (n0 + r < N && kk < K) { wv = w_at((n0 + r) * K + kk); }
      Ws[e] = wv;
    }
    workgroupBarrier();
    for (var c = 0u; c < 32u; c = c + 1u) { acc = acc + Xs[lid.y * 32u + c] * Ws[lid.x * 32u + c]; }
    workgroupBarrier();
  }
  if (m0 + lid.y < M && n0 + lid.x < N) { y[pu(${outParam}u) + (m0 + lid.y) * N + n0 + lid.x] = bitcast<u32>(acc); }
}`;
}

/** dx[m, k] = Σ_n dy[m, n] W[n, k] (data = dy). */
function backwardMain(outParam: number): string {
  return `var<workgroup> Gs: array<f32, 512>;
var<workgroup> Ws: array<f32, 512>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let m0 = wid.y * 16u; let c0 = wid.x * 16u;
  var acc = 0.0;
  for (var n0 = 0u; n0 < N; n0 = n0 + 32u) {
    for (var l = 0u; l < 2u; l = l + 1u) {
      let e = tid + l * 256u;
      let r = e / 32u; let c = e % 32u;
      var gv = 0.0;
      if (m0 + r < M && n0 + c < N) { gv = bitcast<f32>(x[pu(3u) + (m0 + r) * N + n0 + c]); }
      Gs[e] = gv;
      let wn = e / 16u; let wc = e % 16u;
      var wv = 0.0;
      if (n0 + wn < N && c0 + wc < K) { wv = w_at((n0 + wn) * K + c0 + wc); }
      Ws[e] = wv;
    }
    workgroupBarrier();
    for (var c = 0u; c < 32u; c = c + 1u) { acc = acc + Gs[lid.y * 32u + c] * Ws[c * 16u + lid.x]; }
    workgroupBarrier();
  }
  if (m0 + lid.y < M && c0 + lid.x < K) { y[pu(${outParam}u) + (m0 + lid.y) * K + c0 + lid.x] = bitcast<u32>(acc); }
}`;
}

/** y[e] = W[e] for e < N·K (grid folded into two dimensions). */
function dequantMain(outParam: number): string {
  return `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (e >= pu(1u) * pu(2u)) { return; }
  y[pu(${outParam}u) + e] = bitcast<u32>(w_at(e));
}`;
}

type Mode = 'forward' | 'backward' | 'dequant';

function grid1d(n: number): [number, number] {
  const groups = Math.ceil(n / 256);
  if (groups <= 65535) return [Math.max(1, groups), 1];
  const yv = Math.ceil(groups / 65535);
  return [Math.ceil(groups / yv), yv];
}

function workgroups(mode: Mode, m: number, n: number, k: number): [number, number] {
  if (mode === 'forward') return [Math.ceil(n / 16), Math.ceil(m / 16)];
  if (mode === 'backward') return [Math.ceil(k / 16), Math.ceil(m / 16)];
  return grid1d(n * k);
}

function checkF32(kernel: string, views: View[]): void {
  for (const v of views) {
    if (v.dtype !== 'f32') throw new Error(`webgpu kernel '${kernel}' supports f32 data only, got ${v.dtype}; cast to f32 first`);
  }
}

function body(mode: Mode, outParam: number): string {
  return mode === 'forward' ? forwardMain(outParam) : mode === 'backward' ? backwardMain(outParam) : dequantMain(outParam);
}

function run4(mode: Mode, name: string) {
  return (b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant4Attrs>): void => {
    const gpu = b as WebGpuLike;
    const [xv, wv, av, nav, cv, ncv] = inputs as [View, View, View, View, View, View];
    const yv = outputs[0]!;
    if (mode !== 'dequant') checkF32(name, [xv, yv]);
    const { m, n, k, nested } = attrs;
    if (yv.shape.reduce((p, d) => p * d, 1) === 0) return;
    const names = ['x', 'w', 'am', 'nabs', 'code', 'ncode', 'y'];
    const views = [xv, wv, av, nav, cv, ncv, yv];
    const params = new Params()
      .u32(m).u32(n).u32(k).u32(xv.offset).u32(wv.offset)
      .u32(av.offset).u32(nav.offset).u32(cv.offset).u32(ncv.offset).u32(yv.offset)
      .u32(attrs.blockSize).u32(attrs.nestedBlockSize).f32(Math.fround(attrs.offset));
    gpu.dispatch({
      key: `adapterkit-quant:${name}:${nested ? 'nested' : 'plain'}`,
      code: () => `${header(names, 'y')}\n${w4(nested)}\n${body(mode, 9)}`,
      bindings: views.map((v, i) => ({ buffer: gpu.bufferOf(v), access: i === views.length - 1 ? 'write' as const : 'read' as const })),
      params,
      workgroups: workgroups(mode, m, n, k),
    });
  };
}

function run8(mode: Mode, name: string) {
  return (b: Backend, { inputs, outputs, attrs }: KernelArgs<Quant8Attrs>): void => {
    const gpu = b as WebGpuLike;
    const [xv, wv, sv] = inputs as [View, View, View];
    const yv = outputs[0]!;
    if (mode !== 'dequant') checkF32(name, [xv, yv]);
    const { m, n, k } = attrs;
    if (yv.shape.reduce((p, d) => p * d, 1) === 0) return;
    const views = [xv, wv, sv, yv];
    gpu.dispatch({
      key: `adapterkit-quant:${name}`,
      code: () => `${header(['x', 'w', 'scb', 'y'], 'y')}\n${W8}\n${body(mode, 6)}`,
      bindings: views.map((v, i) => ({ buffer: gpu.bufferOf(v), access: i === views.length - 1 ? 'write' as const : 'read' as const })),
      params: new Params().u32(m).u32(n).u32(k).u32(xv.offset).u32(wv.offset).u32(sv.offset).u32(yv.offset),
      workgroups: workgroups(mode, m, n, k),
    });
  };
}

export const webGpuQuantKernels = {
  quantMatmul4bit: run4('forward', 'quantMatmul4bit'),
  quantMatmul4bitBackward: run4('backward', 'quantMatmul4bitBackward'),
  quantDequantize4bit: run4('dequant', 'quantDequantize4bit'),
  quantMatmul8bit: run8('forward', 'quantMatmul8bit'),
  quantMatmul8bitBackward: run8('backward', 'quantMatmul8bitBackward'),
  quantDequantize8bit: run8('dequant', 'quantDequantize8bit'),
};
