/**
 * The native GEMM against the reference matmul: odd sizes around the register
 * tile and cache blocks, all four transpose combinations, batches with either
 * operand broadcast (batch stride 0), storage offsets, k = 0 and empty shapes,
 * on every ISA level this CPU runs and with 1 and 2 threads. Tolerance:
 * |Δ| ≤ 1e-5·√k + 1e-4·|ref| (f32 accumulation in a different order).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runKernel } from '@adapterkit/core';
import { loadCpuAddon } from '../src/index.js';
import { compareGemm, on, requireFastCpu, seeded, type GemmCase } from './helpers.js';

requireFastCpu();
const addon = loadCpuAddon().addon!;
const info = addon.info();
afterAll(() => {
  addon.setIsa(info.isa);
  addon.setThreads(info.threads);
});

const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
const SHAPES: [number, number, number][] = [
  // [m, k, n]: tails of the 6x16 / 12x32 / 4x8 tiles, k across the 192/256 k-block, n across panels
  [1, 1, 1], [1, 300, 1], [7, 3, 17], [13, 257, 33], [6, 16, 16], [12, 32, 32], [25, 65, 47],
  [97, 200, 130], [130, 513, 61], [241, 64, 300], [37, 1031, 5],
  // fewer rows than the tile (the unpacked path): vector·matrix and a few rows, ragged strips
  [2, 77, 133], [3, 129, 70], [5, 1000, 41], [4, 33, 1], [3, 512, 4001],
];

function label(c: GemmCase): string {
  const t = `${c.transA ? 'Aᵀ' : 'A'}·${c.transB ? 'Bᵀ' : 'B'}`;
  const bc = c.aBroadcast ? ' A-broadcast' : c.bBroadcast ? ' B-broadcast' : '';
  return `${t} batch ${c.batch}${bc} m×k×n ${c.m}×${c.k}×${c.n}${c.offset ? ` offset ${c.offset}` : ''}`;
}

const CASES: GemmCase[] = [];
for (const [transA, transB] of TRANS) {
  for (const [m, k, n] of SHAPES) CASES.push({ batch: 1, m, k, n, transA, transB });
  CASES.push({ batch: 3, m: 19, k: 40, n: 23, transA, transB, offset: 5 });
  CASES.push({ batch: 4, m: 11, k: 70, n: 35, transA, transB, aBroadcast: true });
  CASES.push({ batch: 4, m: 11, k: 70, n: 35, transA, transB, bBroadcast: true });
  CASES.push({ batch: 6, m: 64, k: 32, n: 64, transA, transB }); // attention-like: batch-parallel path
}

for (const isa of info.isas) {
  for (const threads of [1, 2]) {
    describe(`gemm on '${isa}', ${threads} thread(s)`, () => {
      it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s', (_name, c, i) => {
        addon.setIsa(isa);
        addon.setThreads(threads);
        const r = compareGemm('cpu', c, 1000 + i);
        expect(r.ratio, `max |Δ| ${r.maxAbs}`).toBeLessThanOrEqual(1);
      });
    });
  }
}

describe('gemm edge cases', () => {
  it('k = 0 gives zeros, empty m or n gives an empty result', () => {
    for (const [m, k, n] of [[3, 0, 4], [0, 5, 4], [3, 5, 0]] as const) {
      const a = on('cpu', seeded(m * k, 1), [m * k]), b = on('cpu', seeded(k * n, 2), [k * n]);
      const [c] = runKernel('matmul', [a, b], [{ shape: [1, m, n], dtype: 'f32' }], { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: m * k, bBatchStride: k * n });
      expect(Array.from(c!.dataSync())).toEqual(new Array(m * n).fill(0));
      for (const t of [a, b, c!]) t.dispose();
    }
  });

  it('a large product (bigger than one cache block in every dimension) matches', () => {
    addon.setIsa(info.isa);
    addon.setThreads(info.threads);
    const r = compareGemm('cpu', { batch: 1, m: 300, k: 600, n: 4200, transA: false, transB: true }, 77);
    expect(r.ratio, `max |Δ| ${r.maxAbs}`).toBeLessThanOrEqual(1);
  });

  it('rejects arrays too short for the shapes instead of reading past them', () => {
    const a = new Float32Array(10), b = new Float32Array(12), c = new Float32Array(12);
    expect(() => addon.gemm(a, 0, b, 0, c, 0, 1, 3, 4, 4, false, false, 12, 16)).toThrow(/outside its 10 elements/);
    expect(() => addon.gemm(a, 0, b, 0, c, 0, 2, 2, 4, 3, false, false, 0, 0)).toThrow(/c: elements \[0, 16\) are outside its 12 elements/);
    expect(() => addon.gemm(a, -1, b, 0, c, 0, 1, 1, 1, 1, false, false, 1, 1)).toThrow(/aOffset must be >= 0/);
  });
});
