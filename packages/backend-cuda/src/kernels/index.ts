import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, primitiveKernelTable, registerKernel, type DType, type KernelImpl } from '@adapterkit/core';
import { CUDA_BACKEND_NAME, type CudaBackend } from '../backend.js';
import {
  binaryBody, binaryKernel, castExpr, castKernel, compareBody, compareKernel, copyKernel, stridedSource, unaryBody, unaryKernel, whereKernel,
} from './elementwise.js';
import { fillKernel, randomKernel, randomSource } from './fill-random.js';
import { gatherKernel, gatherSource, scatterAddKernel, scatterAddSource } from './gather.js';
import { crossEntropyKernel, crossEntropySource } from './loss.js';
import { matmulKernel } from './matmul.js';
import { layerNormBackwardKernel, layerNormKernel, normSources, rmsNormBackwardKernel, rmsNormKernel } from './norm.js';
import { cudaType } from './prelude.js';
import { reduceKernel, reduceSource } from './reduce.js';
import { softmaxKernel, softmaxSource } from './softmax.js';

/** Every cuda kernel by primitive name (see core's primitives.ts for the contracts); attention is composed in core. */
export function cudaKernels(): Map<string, KernelImpl<CudaBackend>> {
  return primitiveKernelTable<CudaBackend>({
    unary: unaryKernel,
    binary: binaryKernel,
    compare: compareKernel,
    reduce: reduceKernel,
    softmax: softmaxKernel,
    fill: fillKernel,
    random: randomKernel,
    copy: copyKernel,
    cast: castKernel,
    where: whereKernel,
    matmul: matmulKernel,
    gather: gatherKernel,
    scatterAdd: scatterAddKernel,
    layerNorm: layerNormKernel,
    layerNormBackward: layerNormBackwardKernel,
    rmsNorm: rmsNormKernel,
    rmsNormBackward: rmsNormBackwardKernel,
    crossEntropy: (b, args) => crossEntropyKernel(false, b, args),
    crossEntropyBackward: (b, args) => crossEntropyKernel(true, b, args),
  });
}

let registered = false;

/** Registers every kernel above for 'cuda'. Idempotent, so a plugin's later override is kept. */
export function registerCudaKernels(): void {
  if (registered) return;
  registered = true;
  for (const [name, impl] of cudaKernels()) registerKernel(name, CUDA_BACKEND_NAME, impl);
}

/** One built-in kernel source variant: its cache key, CUDA C and entry points. */
export interface KernelSource {
  key: string;
  source: string;
  entries: string[];
}

const FLOATS: DType[] = ['f32', 'f16', 'bf16'];
const ALL: DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'i8'];

/**
 * A representative set of the built-in source variants — every op, every
 * dtype pairing of cast, the 1-axis 32-bit-index layout plus the widest
 * (8 axes, 64-bit indices) — to compile ahead of time: the NVRTC compile test
 * (no GPU needed) and cache warming on a GPU machine.
 */
export function builtinKernelSources(): KernelSource[] {
  const out: KernelSource[] = [];
  const strided = (key: string, types: string[], body: string, wide = false): void => {
    out.push({ key: `${key}:r1:n`, source: stridedSource(types, body, 1, true), entries: ['k'] });
    if (wide) out.push({ key: `${key}:r8:w`, source: stridedSource(types, body, 8, false), entries: ['k'] });
  };
  for (const op of UNARY_OPS) strided(`unary:${op}:f32`, ['float', 'float'], unaryBody(op, 'f32'), op === 'exp');
  for (const op of ['neg', 'abs', 'sign'] as const) strided(`unary:${op}:i32`, ['i32', 'i32'], unaryBody(op, 'i32'));
  strided('unary:gelu:bf16', ['u16', 'u16'], unaryBody('gelu', 'bf16'));
  strided('unary:silu:f16', ['u16', 'u16'], unaryBody('silu', 'f16'));
  for (const op of BINARY_OPS) strided(`binary:${op}:f32`, ['float', 'float', 'float'], binaryBody(op, 'f32'), op === 'add');
  for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum'] as const) strided(`binary:${op}:i32`, ['i32', 'i32', 'i32'], binaryBody(op, 'i32'));
  strided('binary:mul:bf16', ['u16', 'u16', 'u16'], binaryBody('mul', 'bf16'));
  for (const op of COMPARE_OPS) strided(`compare:${op}:f32`, ['u8', 'float', 'float'], compareBody(op, 'f32'));
  for (const d of ['i32', 'u8', 'i8'] as const) strided(`compare:lt:${d}`, ['u8', cudaType('lt', d).ctype, cudaType('lt', d).ctype], compareBody('lt', d));
  for (const bits of ['u32', 'u16', 'u8']) {
    strided(`where:${bits}`, [bits, 'u8', bits, bits], 'p0[o[0]] = p1[o[1]] ? p2[o[2]] : p3[o[3]];', bits === 'u32');
    strided(`copy:${bits}`, [bits, bits], 'p0[o[0]] = p1[o[1]];', bits === 'u32');
  }
  for (const from of ALL) {
    for (const to of ALL) {
      if (from === to) continue;
      strided(`cast:${from}:${to}`, [cudaType('cast', to).ctype, cudaType('cast', from).ctype], `p0[o[0]] = ${castExpr(from, to, 'p1[o[1]]')};`);
    }
  }
  for (const dist of ['uniform', 'normal', 'bernoulli'] as const) out.push({ key: `random:${dist}:f32`, source: randomSource(dist, 'f32'), entries: ['k'] });
  for (const d of ['i32', 'u8', 'i8'] as const) out.push({ key: `random:bernoulli:${d}`, source: randomSource('bernoulli', d), entries: ['k'] });
  for (const op of REDUCE_OPS) {
    for (const d of ['f32', 'i32', 'bf16'] as const) out.push({ key: `reduce:${op}:${d}`, source: reduceSource(op, d), entries: ['k'] });
  }
  for (const bits of ['u32', 'u16', 'u8']) out.push({ key: `gather:${bits}`, source: gatherSource(bits), entries: ['k'] });
  out.push({ key: 'scatterAdd:f32', source: scatterAddSource('float'), entries: ['k'] });
  out.push({ key: 'scatterAdd:i32', source: scatterAddSource('int'), entries: ['k'] });
  for (const d of FLOATS) {
    for (const log of [false, true]) out.push({ key: `${log ? 'logSoftmax' : 'softmax'}:${d}`, source: softmaxSource(log, d), entries: ['k'] });
    for (const s of normSources(d)) out.push({ ...s, entries: s.key.includes('Backward') ? ['rows_dx', 'cols', 'finish'] : ['fwd'] });
    for (const bw of [false, true]) out.push({ key: `${bw ? 'crossEntropyBackward' : 'crossEntropy'}:${d}`, source: crossEntropySource(bw, d), entries: ['k'] });
  }
  return out;
}
