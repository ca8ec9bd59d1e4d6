import type { KernelArgs, PrimitiveAttrs } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { MATH_WGSL, MAXNAN_WGSL, Params, header, lanesPerRow, rowEntry, rowGrid, rowReduceWgsl } from '../shader.js';
import { F32, checkDTypes } from './common.js';

/**
 * Softmax / log-softmax along the last axis of a contiguous [rows, cols]
 * input. L lanes share a row (L from the row length, see lanesPerRow): row
 * max, then Σ exp(x − max), then the output, in the reference's order of
 * operations (log-softmax is (x − max) − log Σ: with a huge |max|, as in fully
 * masked rows, x − (max + log Σ) would lose log Σ).
 */
function program(log: boolean, L: number): string {
  const out = log
    ? `let ls = m_log(s);
  for (var j = lane; j < n; j = j + ${L}u) { y[yo + j] = bitcast<u32>((bitcast<f32>(x[xo + j]) - m) - ls); }`
    : `let inv = 1.0 / s;
  for (var j = lane; j < n; j = j + ${L}u) { y[yo + j] = bitcast<u32>(m_exp(bitcast<f32>(x[xo + j]) - m) * inv); }`;
  return `${header([{ name: 'x', access: 'read' }, { name: 'y', access: 'write' }])}
${MATH_WGSL}
${MAXNAN_WGSL}
${rowReduceWgsl(L)}
${rowEntry(L)}
  let cols = pu(1u);
  let n = select(0u, cols, valid);
  let xo = pu(2u) + row * cols;
  let yo = pu(3u) + row * cols;
  var m = -f_inf();
  for (var j = lane; j < n; j = j + ${L}u) { m = max_nan(m, bitcast<f32>(x[xo + j])); }
  m = seg_max(m, lid);
  var s = 0.0;
  for (var j = lane; j < n; j = j + ${L}u) { s = s + m_exp(bitcast<f32>(x[xo + j]) - m); }
  s = seg_sum(s, lid);
  ${out}
}`;
}

export function softmaxKernel(log: boolean, backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['softmax']>): void {
  const name = log ? 'logSoftmax' : 'softmax';
  const x = args.inputs[0]!, y = args.outputs[0]!;
  const { rows, cols } = args.attrs;
  checkDTypes(name, [y, x], F32);
  if (rows * cols === 0) return;
  const L = lanesPerRow(cols);
  backend.dispatch({
    key: `${name}:f32:L${L}`,
    code: () => program(log, L),
    bindings: [{ buffer: backend.bufferOf(x), access: 'read' }, { buffer: backend.bufferOf(y), access: 'write' }],
    params: new Params().u32(rows).u32(cols).u32(x.offset).u32(y.offset),
    workgroups: rowGrid(rows, L),
  });
}
