import type { KernelArgs, PrimitiveAttrs } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { Params, header } from '../shader.js';
import { F32, checkDTypes, checkU32 } from './common.js';
import { fillView } from './fill-random.js';

/**
 * Batched C[b] = op(A[b])·op(B[b]) in f32, tiled and register-blocked.
 *
 * A workgroup of 16×16 invocations computes a 64×64 tile of C; each
 * invocation owns a 4×4 block (rows ty + 16·i, columns tx + 16·j, so
 * neighbouring lanes write neighbouring columns). K advances in slices of 16:
 * the workgroup stages a 64×16 slice of A and a 16×64 slice of B in shared
 * memory, loading along whichever axis is contiguous in memory for the given
 * transA/transB (a compile-time variant), then every invocation does 16
 * rank-1 updates of its 4×4 accumulators from registers. Edges are zero-padded
 * in shared memory. Batches run along the grid's z axis; aBatchStride /
 * bBatchStride of 0 broadcast one matrix.
 */

type MatmulAttrs = PrimitiveAttrs['matmul'];

const TILE = 64;
const BK = 16;
const MAX_Z = 65535;

function matmulWgsl(transA: boolean, transB: boolean): string {
  // Element (i, p) of A and (p, j) of B, relative to the batch base.
  const aAt = transA ? 'p * M + i' : 'i * K + p';
  const bAt = transB ? 'j * K + p' : 'p * N + j';
  // Tile-slice coordinates of load number e (0..1023) along the contiguous axis.
  const aCoords = transA ? 'let r = e % 64u; let kk = e / 64u;' : 'let kk = e % 16u; let r = e / 16u;';
  const bCoords = transB ? 'let kk = e % 16u; let c = e / 16u;' : 'let c = e % 64u; let kk = e / 64u;';
  // The 4×4 register block, unrolled into scalars so no compiler spills it to memory.
  const ij: [number, number][] = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) ij.push([i, j]);
  const decls = ij.map(([i, j]) => `var c${i}${j} = 0.0;`).join(' ');
  const loads = [0, 1, 2, 3].map((t) => `let a${t} = As[ao + ${16 * t}u]; let b${t} = Bs[bo + ${16 * t}u];`).join('\n      ');
  const fmas = ij.map(([i, j]) => `c${i}${j} = c${i}${j} + a${i} * b${j};`).join(' ');
  const stores = [0, 1, 2, 3].map((i) => `{
    let i = row0 + ty + ${16 * i}u;
    if (i < M) {
${[0, 1, 2, 3].map((j) => `      { let j = col0 + tx + ${16 * j}u; if (j < N) { cm[cBase + i * N + j] = bitcast<u32>(c${i}${j}); } }`).join('\n')}
    }
  }`).join('\n  ');
  return `${header([{ name: 'a', access: 'read' }, { name: 'b', access: 'read' }, { name: 'cm', access: 'write' }])}
var<workgroup> As: array<f32, ${BK * TILE}>;
var<workgroup> Bs: array<f32, ${BK * TILE}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let batch = wid.z + pu(8u);
  let aBase = pu(3u) + batch * pu(5u);
  let bBase = pu(4u) + batch * pu(6u);
  let cBase = pu(7u) + batch * M * N;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let tx = lid3.x;
  let ty = lid3.y;
  ${decls}
  for (var k0 = 0u; k0 < K; k0 = k0 + ${BK}u) {
    for (var l = 0u; l < 4u; l = l + 1u) {
      let e = tid + l * 256u;
      {
        ${aCoords}
        let i = row0 + r; let p = k0 + kk;
        var v = 0.0;
        if (i < M && p < K) { v = bitcast<f32>(a[aBase + ${aAt}]); }
        As[kk * ${TILE}u + r] = v;
      }
      {
        ${bCoords}
        let j = col0 + c; let p = k0 + kk;
        var v = 0.0;
        if (j < N && p < K) { v = bitcast<f32>(b[bBase + ${bAt}]); }
        Bs[kk * ${TILE}u + c] = v;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk = kk + 1u) {
      let ao = kk * ${TILE}u + ty;
      let bo = kk * ${TILE}u + tx;
      ${loads}
      ${fmas}
    }
    workgroupBarrier();
  }
  ${stores}
}`;
}

export function matmulKernel(backend: WebGpuBackend, args: KernelArgs<MatmulAttrs>): void {
  const av = args.inputs[0]!, bv = args.inputs[1]!, cv = args.outputs[0]!;
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = args.attrs;
  checkDTypes('matmul', [cv, av, bv], F32);
  checkU32('matmul', batch * m * n);
  if (batch * m * n === 0) return;
  if (k === 0) {
    fillView(backend, cv, 0);
    return;
  }
  const bindings = [
    { buffer: backend.bufferOf(av), access: 'read' as const },
    { buffer: backend.bufferOf(bv), access: 'read' as const },
    { buffer: backend.bufferOf(cv), access: 'write' as const },
  ];
  const key = `matmul:f32:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  const gx = Math.ceil(n / TILE), gy = Math.ceil(m / TILE);
  for (let b0 = 0; b0 < batch; b0 += MAX_Z) {
    const nb = Math.min(MAX_Z, batch - b0);
    backend.dispatch({
      key,
      code: () => matmulWgsl(transA, transB),
      bindings,
      params: new Params().u32(m).u32(n).u32(k).u32(av.offset).u32(bv.offset).u32(aBatchStride).u32(bBatchStride).u32(cv.offset).u32(b0),
      workgroups: [gx, gy, nb],
    });
  }
}
