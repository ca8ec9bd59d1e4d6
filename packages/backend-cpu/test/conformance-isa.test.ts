/**
 * The conformance suite (f32) once more for every lower ISA level this CPU
 * runs (the main file covers the best one): 'scalar' everywhere, 'avx2' on an
 * AVX-512 machine. Kernels of all levels come from one templated source, so
 * this is what checks the other vector widths and GEMM tiles on CI.
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@adapterkit/core/conformance';
import { loadCpuAddon } from '../src/index.js';
import { requireFastCpu } from './helpers.js';

requireFastCpu();
const addon = loadCpuAddon().addon!;
const { isas } = addon.info();
const lower = isas.slice(1);

if (lower.length === 0) {
  describe('lower ISA levels', () => {
    it.skip('none: this CPU runs only the scalar kernels, covered by conformance.test.ts', () => {});
  });
}
for (const isa of lower) {
  describe(`ISA level '${isa}'`, () => {
    // setup runs in the suite's beforeAll; the level stays for the rest of this file (own process).
    describeConformance({ backend: 'cpu', setup: () => addon.setIsa(isa) });
  });
}
