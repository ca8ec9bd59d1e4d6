import type { KernelArgs, PrimitiveAttrs } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { STATUS } from '../status.js';
import { ENTRY_1D, Params, WG, grid, header } from '../shader.js';
import { F32_I32, checkDTypes, checkIndexDType, checkU32 } from './common.js';

/**
 * gather (embedding lookup) and its gradient scatterAdd, for f32 and i32.
 *
 * Index validation happens on the GPU: an index outside [0, v) sets a flag in
 * the status buffer, and the next read()/sync() rejects with a RangeError
 * naming the kernel (a GPU kernel cannot throw synchronously).
 *
 * scatterAdd is deterministic: one invocation owns one column j of the output
 * and adds src[i, j] into y[idx[i], j] for i = 0, 1, … in order, so no atomics
 * are needed and the summation order matches the reference's exactly.
 */

type GatherAttrs = PrimitiveAttrs['gather'];

const GATHER_WGSL = `${header([
  { name: 'tab', access: 'read' },
  { name: 'idx', access: 'read' },
  { name: 'y', access: 'write' },
  { name: 'status', access: 'atomic' },
])}
${ENTRY_1D}
  let total = pu(0u);
  if (gid >= total) { return; }
  let d = pu(1u);
  let v = pu(2u);
  let i = gid / d;
  let j = gid - i * d;
  let t = bitcast<i32>(idx[pu(4u) + i]);
  if (t < 0 || u32(t) >= v) {
    atomicOr(&status[0], ${STATUS.gather}u);
    atomicStore(&status[1], bitcast<u32>(t));
    y[pu(5u) + gid] = 0u;
    return;
  }
  y[pu(5u) + gid] = tab[pu(3u) + u32(t) * d + j];
}`;

export function gatherKernel(backend: WebGpuBackend, args: KernelArgs<GatherAttrs>): void {
  const table = args.inputs[0]!, indices = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  checkDTypes('gather', [y, table], F32_I32);
  checkIndexDType('gather', indices, 'indices');
  const total = n * d;
  checkU32('gather', total);
  if (total === 0) return;
  backend.dispatch({
    key: 'gather:b32',
    code: () => GATHER_WGSL,
    bindings: [
      { buffer: backend.bufferOf(table), access: 'read' },
      { buffer: backend.bufferOf(indices), access: 'read' },
      { buffer: backend.bufferOf(y), access: 'write' },
      { buffer: backend.statusBuffer, access: 'atomic' },
    ],
    params: new Params().u32(total).u32(d).u32(v).u32(table.offset).u32(indices.offset).u32(y.offset),
    workgroups: grid(Math.ceil(total / WG)),
  });
}

function scatterWgsl(dtype: 'f32' | 'i32'): string {
  const add = dtype === 'f32' ? 'bitcast<u32>(bitcast<f32>(y[o]) + bitcast<f32>(src[so + j]))' : 'bitcast<u32>(bitcast<i32>(y[o]) + bitcast<i32>(src[so + j]))';
  return `${header([
    { name: 'src', access: 'read' },
    { name: 'idx', access: 'read' },
    { name: 'y', access: 'write' },
    { name: 'status', access: 'atomic' },
  ])}
${ENTRY_1D}
  let d = pu(1u);
  let j = gid;
  if (j >= d) { return; }
  let n = pu(0u);
  let v = pu(2u);
  let yo = pu(5u);
  for (var i = 0u; i < n; i = i + 1u) {
    let t = bitcast<i32>(idx[pu(4u) + i]);
    if (t < 0 || u32(t) >= v) {
      if (j == 0u) {
        atomicOr(&status[0], ${STATUS.scatterAdd}u);
        atomicStore(&status[1], bitcast<u32>(t));
      }
      continue;
    }
    let so = pu(3u) + i * d;
    let o = yo + u32(t) * d + j;
    y[o] = ${add};
  }
}`;
}

export function scatterAddKernel(backend: WebGpuBackend, args: KernelArgs<GatherAttrs>): void {
  const src = args.inputs[0]!, indices = args.inputs[1]!, y = args.outputs[0]!;
  const { v, d, n } = args.attrs;
  const dtype = checkDTypes('scatterAdd', [y, src], F32_I32) as 'f32' | 'i32';
  checkIndexDType('scatterAdd', indices, 'indices');
  checkU32('scatterAdd', v * d);
  checkU32('scatterAdd', n * d);
  // Both f32 and i32 zero are all-zero bits.
  backend.clearBuffer(backend.bufferOf(y), y.offset * 4, v * d * 4);
  if (n === 0 || d === 0) return;
  backend.dispatch({
    key: `scatterAdd:${dtype}`,
    code: () => scatterWgsl(dtype),
    bindings: [
      { buffer: backend.bufferOf(src), access: 'read' },
      { buffer: backend.bufferOf(indices), access: 'read' },
      { buffer: backend.bufferOf(y), access: 'write' },
      { buffer: backend.statusBuffer, access: 'atomic' },
    ],
    params: new Params().u32(n).u32(d).u32(v).u32(src.offset).u32(indices.offset).u32(y.offset),
    workgroups: grid(Math.ceil(d / WG)),
  });
}
