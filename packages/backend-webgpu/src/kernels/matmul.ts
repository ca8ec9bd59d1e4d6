import type { KernelArgs, PrimitiveAttrs } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { Params, header } from '../shader.js';
import { F32, checkDTypes, checkU32 } from './common.js';
import { fillView } from './fill-random.js';

/**
 * Batched C[b] = op(A[b])·op(B[b]) in f32. Two designs, chosen per adapter,
 * because what makes a matmul fast on a GPU is close to the opposite of what
 * makes it fast on a CPU adapter (lavapipe, SwiftShader) running the same WGSL.
 *
 * Tiled (GPUs, the default). A workgroup of 16×16 invocations computes a
 * 64×64 tile of C; each invocation owns a 4×4 block (rows ty + 16·i, columns
 * tx + 16·j, so neighbouring lanes write neighbouring columns). K advances in
 * slices of 16: the workgroup stages a 64×16 slice of A and a 16×64 slice of B
 * in shared memory, loading along whichever axis is contiguous in memory for
 * the given transA/transB (a compile-time variant, so global loads coalesce),
 * then every invocation does 16 rank-1 updates of its 4×4 accumulators from
 * registers. Edges are zero-padded in shared memory. Each global load is
 * reused 64 times from shared memory across the workgroup, which is what a GPU
 * wants: global memory is far, shared memory and barriers are cheap.
 *
 * Register-blocked (CPU adapters). llvmpipe runs 8 invocations per AVX2
 * instruction and a workgroup per thread. In Mesa 25 (LLVM 15) every load
 * inside the K loop is done lane by lane (loop counters are per-lane vectors,
 * so no address is provably uniform): 8 scalar loads, each with a bounds
 * check and a branch — tens of cycles per loaded component, vec4 or not —
 * while an FMA costs about one. Shared-memory loads are lane by lane too, and
 * one workgroupBarrier (a coroutine suspend point in llvmpipe) made the same
 * FMA loop 2–3× slower in a micro-benchmark. So this design has no shared
 * memory and no barrier: each invocation keeps an R×C block of C in registers
 * (8×8; 4 on an axis of at most 32, so attention heads and short sequences
 * waste no lanes) and, per k, loads R elements of A and C of B straight from
 * the storage buffers (the CPU caches provide the reuse) for R·C FMAs: 64
 * FMAs per 16 loads, against 16 per 8 (plus staging) in the tiled design.
 * Strides are runtime parameters, so one pipeline per block size serves every
 * transA/transB; what is compiled in is the axis the 8 SIMD lanes run along:
 * columns for A·B (the lanes' B loads share a cache line, their A loads are
 * identical), rows for the transposed forms (for Aᵀ the lanes' A loads share a
 * line; for A·Bᵀ neither operand is contiguous across lanes and rows measured
 * no worse). Tried and slower on lavapipe: 12×16 and 16×16 blocks (fewer loads
 * per FMA, but spills, and 5–8 s to compile), k-unrolling by 2 or 4, vec4
 * bindings and loads, 4×4 blocks. On a GPU this design would load every
 * operand element once per invocation rather than once per workgroup and hold
 * 64 accumulators per thread, so GPUs keep the tiled design.
 *
 * Both designs run batches along the grid's z axis; aBatchStride /
 * bBatchStride of 0 broadcast one matrix.
 */

type MatmulAttrs = PrimitiveAttrs['matmul'];

const MAX_Z = 65535;

/** 'tiled' for GPUs, 'registers' for CPU adapters (see above). */
export type MatmulDesign = 'tiled' | 'registers';

let forcedDesign: MatmulDesign | null = null;

/**
 * @internal Tests only: use `design` on every adapter (null restores the
 * per-adapter choice), so both designs can be checked on whatever adapter the
 * tests run on.
 */
export function forceMatmulDesign(design: MatmulDesign | null): void {
  forcedDesign = design;
}

/**
 * Whether the adapter runs shaders on the CPU: WebGPU's fallback adapter
 * (Dawn marks its CPU adapters so; Chrome's is SwiftShader), or a known
 * software driver when the implementation predates `isFallbackAdapter`.
 */
export function isCpuAdapter(adapter: GPUAdapter | null): boolean {
  const info = adapter?.info as Partial<GPUAdapterInfo> | undefined;
  if (!info) return false;
  if (info.isFallbackAdapter === true) return true;
  return /llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

const designs = new WeakMap<WebGpuBackend, MatmulDesign>();

/** The design the matmul kernel uses on `backend`'s adapter. */
export function matmulDesign(backend: WebGpuBackend): MatmulDesign {
  if (forcedDesign) return forcedDesign;
  let d = designs.get(backend);
  if (!d) {
    d = isCpuAdapter(backend.adapter) ? 'registers' : 'tiled';
    designs.set(backend, d);
  }
  return d;
}

// ---------------------------------------------------------------- tiled (GPUs)

const TILE = 64;
const BK = 16;

function tiledWgsl(transA: boolean, transB: boolean): string {
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

// ---------------------------------------------------------------- register-blocked (CPU adapters)

/** Invocations per workgroup along each axis of the register-blocked design (8 = one AVX2 SIMD row). */
const RWG = 8;

interface RegisterBlock {
  /** Rows and columns of C per invocation. */
  r: number;
  c: number;
  /** SIMD lanes (local x) run along rows of C instead of columns. */
  lanesOnRows: boolean;
}

/** R×C per invocation: 8×8, halved on an axis of ≤ 32 so small heads and short sequences waste no lanes. */
function registerBlock(m: number, n: number, transA: boolean, transB: boolean): RegisterBlock {
  return { r: m <= 32 ? 4 : 8, c: n <= 32 ? 4 : 8, lanesOnRows: transA || transB };
}

function registersWgsl({ r: R, c: C, lanesOnRows }: RegisterBlock): string {
  // Invocation (x, y) owns rows row0 + rs·i (i < R) and columns col0 + cs·j (j < C).
  const rs = lanesOnRows ? RWG : 1;
  const cs = lanesOnRows ? 1 : RWG;
  const origin = lanesOnRows
    ? `let row0 = wid.y * ${RWG * R}u + lid.x; let col0 = (wid.x * ${RWG}u + lid.y) * ${C}u;`
    : `let row0 = (wid.y * ${RWG}u + lid.y) * ${R}u; let col0 = wid.x * ${RWG * C}u + lid.x;`;
  const rows = Array.from({ length: R }, (_, i) => i);
  const cols = Array.from({ length: C }, (_, j) => j);
  // Out-of-range rows/columns read a clamped (valid) address and are never stored.
  const bases = [
    ...rows.map((i) => `let ai${i} = aBase + min(row0 + ${i * rs}u, M - 1u) * sAi;`),
    ...cols.map((j) => `let bj${j} = bBase + min(col0 + ${j * cs}u, N - 1u) * sBj;`),
  ].join('\n  ');
  const decls = rows.flatMap((i) => cols.map((j) => `var c${i}_${j} = 0.0;`)).join(' ');
  const loads = [
    ...rows.map((i) => `let x${i} = bitcast<f32>(a[ai${i} + ap]);`),
    ...cols.map((j) => `let y${j} = bitcast<f32>(b[bj${j} + bp]);`),
  ].join(' ');
  const fmas = rows.map((i) => cols.map((j) => `c${i}_${j} = fma(x${i}, y${j}, c${i}_${j});`).join(' ')).join('\n    ');
  const stores = rows.map((i) => `if (row0 + ${i * rs}u < M) {
    let o = cBase + (row0 + ${i * rs}u) * N + col0;
    ${cols.map((j) => `if (col0 + ${j * cs}u < N) { cm[o + ${j * cs}u] = bitcast<u32>(c${i}_${j}); }`).join('\n    ')}
  }`).join('\n  ');
  return `${header([{ name: 'a', access: 'read' }, { name: 'b', access: 'read' }, { name: 'cm', access: 'write' }])}
@compute @workgroup_size(${RWG}, ${RWG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let batch = wid.z + pu(8u);
  let aBase = pu(3u) + batch * pu(5u);
  let bBase = pu(4u) + batch * pu(6u);
  let cBase = pu(7u) + batch * M * N;
  // A(i, p) = a[aBase + i·sAi + p·sAp], B(p, j) = b[bBase + p·sBp + j·sBj].
  let sAi = pu(9u); let sAp = pu(10u); let sBp = pu(11u); let sBj = pu(12u);
  ${origin}
  if (row0 >= M || col0 >= N) { return; }
  ${bases}
  ${decls}
  for (var p = 0u; p < K; p = p + 1u) {
    let ap = p * sAp; let bp = p * sBp;
    ${loads}
    ${fmas}
  }
  ${stores}
}`;
}

// ---------------------------------------------------------------- kernel

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
  let key: string, code: () => string, gx: number, gy: number;
  if (matmulDesign(backend) === 'registers') {
    const block = registerBlock(m, n, transA, transB);
    const { r, c, lanesOnRows } = block;
    key = `matmul:f32:regs${r}x${c}${lanesOnRows ? 'i' : 'j'}`;
    code = () => registersWgsl(block);
    gx = Math.ceil(n / (RWG * c));
    gy = Math.ceil(m / (RWG * r));
  } else {
    key = `matmul:f32:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
    code = () => tiledWgsl(transA, transB);
    gx = Math.ceil(n / TILE);
    gy = Math.ceil(m / TILE);
  }
  for (let b0 = 0; b0 < batch; b0 += MAX_Z) {
    const nb = Math.min(MAX_Z, batch - b0);
    backend.dispatch({
      key,
      code,
      bindings,
      params: new Params().u32(m).u32(n).u32(k).u32(av.offset).u32(bv.offset).u32(aBatchStride).u32(bBatchStride).u32(cv.offset).u32(b0)
        .u32(transA ? 1 : k).u32(transA ? m : 1).u32(transB ? 1 : n).u32(transB ? k : 1),
      workgroups: [gx, gy, nb],
    });
  }
}
