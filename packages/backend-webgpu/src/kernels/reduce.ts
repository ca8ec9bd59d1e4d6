import { DTypeError, type KernelArgs, type PrimitiveAttrs, type ReduceOp } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { ENTRY_1D, KAHAN_WGSL, Params, RW, WG, grid, header } from '../shader.js';
import { F32_I32, checkDTypes, checkU32 } from './common.js';
import { fillView } from './fill-random.js';

/**
 * sum / max / min / argmax over the middle axis of a contiguous
 * [outer, reduce, inner] input, output [outer, inner]; f32 and i32.
 *
 * Two shapes of program:
 * - 'lane': one invocation per output walks the reduced axis (coalesced
 *   across `inner`); used when there are many outputs or short reductions.
 * - 'group': one workgroup per output, lanes stride over the reduced axis and
 *   combine in shared memory; used for long reductions with few outputs.
 * f32 sums are Kahan-compensated within a lane. max/min propagate NaN;
 * argmax returns the first maximum, a NaN counting as the maximum (first NaN
 * wins), exactly like the reference.
 */

type ReduceAttrs = PrimitiveAttrs['reduce'];

const EMPTY = 0xffffffff;

/** WGSL of the per-lane accumulation (declarations, fold of value `v` at position `r`). */
function laneOps(op: ReduceOp, f32: boolean): { init: string; fold: string } {
  const T = f32 ? 'f32' : 'i32';
  switch (op) {
    case 'sum':
      return f32
        ? { init: 'var acc = vec2f(0.0, 0.0);', fold: 'acc = kahan_add(acc, v);' }
        : { init: 'var acc = 0i;', fold: 'acc = acc + v;' };
    case 'max':
    case 'min': {
      const cmp = op === 'max' ? '>' : '<';
      const init = f32 ? (op === 'max' ? '-f_inf()' : 'f_inf()') : op === 'max' ? 'i32(-2147483648)' : '2147483647i';
      return f32
        ? { init: `var acc: f32 = ${init};`, fold: `if (!is_nan(acc) && (v ${cmp} acc || is_nan(v))) { acc = v; }` }
        : { init: `var acc: ${T} = ${init};`, fold: `acc = ${op}(acc, v);` };
    }
    case 'argmax':
      return f32
        ? { init: `var acc: f32 = -f_inf(); var at = ${EMPTY}u;`, fold: `if (at == ${EMPTY}u || (!is_nan(acc) && (v > acc || is_nan(v)))) { acc = v; at = r; }` }
        : { init: `var acc: i32 = i32(-2147483648); var at = ${EMPTY}u;`, fold: `if (at == ${EMPTY}u || v > acc) { acc = v; at = r; }` };
  }
}

/** The stored bits of the lane's result. */
function laneResult(op: ReduceOp, f32: boolean): string {
  if (op === 'argmax') return 'bitcast<u32>(i32(at))';
  if (op === 'sum' && f32) return 'bitcast<u32>(acc.x)';
  return 'bitcast<u32>(acc)';
}

function laneProgram(op: ReduceOp, f32: boolean): string {
  const { init, fold } = laneOps(op, f32);
  const load = f32 ? 'bitcast<f32>' : 'bitcast<i32>';
  return `${header([{ name: 'x', access: 'read' }, { name: 'y', access: 'write' }])}
${KAHAN_WGSL}
${ENTRY_1D}
  let outer = pu(0u); let reduce = pu(1u); let inner = pu(2u);
  if (gid >= outer * inner) { return; }
  let o = gid / inner;
  let j = gid - o * inner;
  let base = pu(3u) + o * reduce * inner + j;
  ${init}
  for (var r = 0u; r < reduce; r = r + 1u) {
    let v = ${load}(x[base + r * inner]);
    ${fold}
  }
  y[pu(4u) + gid] = ${laneResult(op, f32)};
}`;
}

/** Combines lane b into lane a in shared memory (a < b in lane order). */
function groupCombine(op: ReduceOp, f32: boolean): string {
  switch (op) {
    case 'sum':
      return 'sv[lid] = sv[lid] + sv[lid + s];';
    case 'max':
    case 'min': {
      const cmp = op === 'max' ? '>' : '<';
      return f32
        ? `let a = sv[lid]; let b = sv[lid + s]; if (!is_nan(a) && (b ${cmp} a || is_nan(b))) { sv[lid] = b; }`
        : `sv[lid] = ${op}(sv[lid], sv[lid + s]);`;
    }
    case 'argmax': {
      // Lanes hold the first maximum of their strided subset; pick the better, ties to the lower index.
      const better = f32
        ? `(ia == ${EMPTY}u) || (ib != ${EMPTY}u && ((is_nan(b) && (!is_nan(a) || ib < ia)) || (!is_nan(a) && !is_nan(b) && (b > a || (b == a && ib < ia)))))`
        : `(ia == ${EMPTY}u) || (ib != ${EMPTY}u && (b > a || (b == a && ib < ia)))`;
      return `let a = sv[lid]; let b = sv[lid + s]; let ia = si[lid]; let ib = si[lid + s];
      if (${better}) { sv[lid] = b; si[lid] = ib; }`;
    }
  }
}

function groupProgram(op: ReduceOp, f32: boolean): string {
  const { init, fold } = laneOps(op, f32);
  const load = f32 ? 'bitcast<f32>' : 'bitcast<i32>';
  const T = f32 ? 'f32' : 'i32';
  const laneValue = op === 'sum' && f32 ? 'acc.x' : 'acc';
  const result = op === 'argmax' ? 'bitcast<u32>(i32(si[0]))' : `bitcast<u32>(sv[0])`;
  return `${header([{ name: 'x', access: 'read' }, { name: 'y', access: 'write' }])}
${KAHAN_WGSL}
var<workgroup> sv: array<${T}, ${RW}>;
${op === 'argmax' ? `var<workgroup> si: array<u32, ${RW}>;` : ''}
@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let out = wid.y * nwg.x + wid.x;
  let outer = pu(0u); let reduce = pu(1u); let inner = pu(2u);
  if (out >= outer * inner) { return; }
  let o = out / inner;
  let j = out - o * inner;
  let base = pu(3u) + o * reduce * inner + j;
  ${init}
  for (var r = lid; r < reduce; r = r + ${RW}u) {
    let v = ${load}(x[base + r * inner]);
    ${fold}
  }
  sv[lid] = ${laneValue};
  ${op === 'argmax' ? 'si[lid] = at;' : ''}
  workgroupBarrier();
  for (var s = ${RW / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      ${groupCombine(op, f32)}
    }
    workgroupBarrier();
  }
  if (lid == 0u) { y[pu(4u) + out] = ${result}; }
}`;
}

export function reduceKernel(op: ReduceOp, backend: WebGpuBackend, args: KernelArgs<ReduceAttrs>): void {
  const x = args.inputs[0]!, y = args.outputs[0]!;
  const { outer, reduce, inner } = args.attrs;
  const dtype = checkDTypes(op, [x], F32_I32);
  if (op === 'argmax') {
    if (y.dtype !== 'i32') throw new DTypeError(`webgpu kernel 'argmax' writes i32 output, got ${y.dtype}`);
    if (reduce === 0 && outer * inner > 0) throw new RangeError(`webgpu kernel 'argmax': cannot reduce an empty axis`);
  } else if (y.dtype !== dtype) {
    throw new DTypeError(`webgpu kernel '${op}': output dtype ${y.dtype} differs from input ${dtype}`);
  }
  const outputs = outer * inner;
  checkU32(op, outer * reduce * inner);
  if (outputs === 0) return;
  if (reduce === 0) {
    // The identity of an empty reduction (±Infinity store as 0 in i32, like a typed array).
    fillView(backend, y, op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
    return;
  }
  const f32 = dtype === 'f32';
  const group = reduce >= 256 && outputs <= 4096;
  const params = new Params().u32(outer).u32(reduce).u32(inner).u32(x.offset).u32(y.offset);
  const bindings = [
    { buffer: backend.bufferOf(x), access: 'read' as const },
    { buffer: backend.bufferOf(y), access: 'write' as const },
  ];
  if (group) {
    backend.dispatch({ key: `reduce:${op}:${dtype}:group`, code: () => groupProgram(op, f32), bindings, params, workgroups: grid(outputs) });
  } else {
    backend.dispatch({ key: `reduce:${op}:${dtype}:lane`, code: () => laneProgram(op, f32), bindings, params, workgroups: grid(Math.ceil(outputs / WG)) });
  }
}
