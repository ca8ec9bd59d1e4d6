import type { KernelArgs, PrimitiveAttrs, View } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { STATUS } from '../status.js';
import { MATH_WGSL, MAXNAN_WGSL, Params, header, lanesPerRow, rowEntry, rowGrid, rowReduceWgsl } from '../shader.js';
import { F32, checkDTypes, checkIndexDType } from './common.js';

/**
 * Fused cross-entropy over [n, c] logits with i32 targets, per row:
 * lse = max + log Σ exp(x − max) (the reference's order), loss = lse −
 * x[t]; backward writes (softmax − onehot)·dloss. L lanes share a row (L
 * from c, see lanesPerRow). Rows whose target equals
 * ignoreIndex get 0. A target outside [0, c) that is not ignoreIndex is
 * flagged in the status buffer (the next read or sync() throws) and its row
 * is written as 0.
 */

type CeAttrs = PrimitiveAttrs['crossEntropy'];

const PROLOGUE = `
  let c = pu(1u);
  let n = select(0u, c, valid);
  let ignore = pi(2u);
  let xo = pu(3u) + row * c;
  let t = bitcast<i32>(tg[pu(4u) + select(0u, row, valid)]);
  let skip = t == ignore;
  let bad = !skip && (t < 0 || u32(t) >= c);
  if (valid && bad && lane == 0u) {
    atomicOr(&status[0], ${STATUS.crossEntropy}u);
    atomicStore(&status[1], bitcast<u32>(t));
  }
  var m = -f_inf();
  for (var j = lane; j < n; j = j + $L) { m = max_nan(m, bitcast<f32>(x[xo + j])); }
  m = seg_max(m, lid);
  var s = 0.0;
  for (var j = lane; j < n; j = j + $L) { s = s + m_exp(bitcast<f32>(x[xo + j]) - m); }
  s = seg_sum(s, lid);
  let lse = m + m_log(s);`;

function program(backward: boolean, L: number): () => string {
  const decl = [
    { name: 'x', access: 'read' as const },
    { name: 'tg', access: 'read' as const },
    ...(backward ? [{ name: 'gl', access: 'read' as const }] : []),
    { name: 'y', access: 'write' as const },
    { name: 'status', access: 'atomic' as const },
  ];
  const tail = backward
    ? `
  if (!valid) { return; }
  let yo = pu(6u) + row * c;
  if (skip || bad) {
    for (var j = lane; j < c; j = j + $L) { y[yo + j] = 0u; }
    return;
  }
  let g = bitcast<f32>(gl[pu(5u) + row]);
  for (var j = lane; j < c; j = j + $L) {
    let p = m_exp(bitcast<f32>(x[xo + j]) - lse);
    let v = select(p * g, (p - 1.0) * g, i32(j) == t);
    y[yo + j] = bitcast<u32>(v);
  }`
    : `
  if (valid && lane == 0u) {
    var loss = 0.0;
    if (!skip && !bad) { loss = lse - bitcast<f32>(x[xo + u32(t)]); }
    y[pu(6u) + row] = bitcast<u32>(loss);
  }`;
  return () => `${header(decl)}
${MATH_WGSL}
${MAXNAN_WGSL}
${rowReduceWgsl(L)}
${rowEntry(L)}
${PROLOGUE.replaceAll('$L', `${L}u`)}
${tail.replaceAll('$L', `${L}u`)}
}`;
}

function run(backend: WebGpuBackend, backward: boolean, args: KernelArgs<CeAttrs>): void {
  const name = backward ? 'crossEntropyBackward' : 'crossEntropy';
  const x = args.inputs[0]!, t = args.inputs[1]!, y = args.outputs[0]!;
  const gl: View | null = backward ? args.inputs[2]! : null;
  const { n, c, ignoreIndex } = args.attrs;
  checkDTypes(name, gl ? [x, gl, y] : [x, y], F32);
  checkIndexDType(name, t, 'targets');
  if (n === 0) return;
  const bindings = [
    { buffer: backend.bufferOf(x), access: 'read' as const },
    { buffer: backend.bufferOf(t), access: 'read' as const },
    ...(gl ? [{ buffer: backend.bufferOf(gl), access: 'read' as const }] : []),
    { buffer: backend.bufferOf(y), access: 'write' as const },
    { buffer: backend.statusBuffer, access: 'atomic' as const },
  ];
  const L = lanesPerRow(c);
  backend.dispatch({
    key: `${name}:f32:L${L}`,
    code: program(backward, L),
    bindings,
    params: new Params().u32(n).u32(c).i32v(ignoreIndex).u32(x.offset).u32(t.offset).u32(gl ? gl.offset : 0).u32(y.offset),
    workgroups: rowGrid(n, L),
  });
}

export function crossEntropyKernel(backend: WebGpuBackend, args: KernelArgs<CeAttrs>): void {
  run(backend, false, args);
}

export function crossEntropyBackwardKernel(backend: WebGpuBackend, args: KernelArgs<CeAttrs>): void {
  run(backend, true, args);
}
