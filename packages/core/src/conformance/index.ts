/**
 * @adapterkit/core/conformance — the backend conformance suite.
 *
 * Every backend runs the same cases against the reference CPU backend
 * ('cpu-ref'): for each primitive kernel (see backend/primitives.ts) seeded
 * inputs are built on the host, uploaded to both backends, run through
 * `runKernel` / `runKernelInto`, read back with `await t.data()` and compared
 * with stated tolerances (see tolerances.ts). Cases of optional fused
 * kernels (OPTIONAL_KERNELS: 'attention') run when the backend under test
 * registers the kernel and are skipped, saying so, otherwise. A second group
 * runs composed ops with autograd on both backends. Every case also checks that the
 * backend's live buffers return to their level at the start of the case.
 *
 * ```ts
 * // packages/backend-webgpu/test/conformance.test.ts
 * import { describeConformance } from '@adapterkit/core/conformance';
 * describeConformance({ backend: 'webgpu', setup: () => initWebGpu(), tolerances: { sin: { atol: 5e-4, rtol: 0 } } });
 * ```
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCpuBackend } from '../backend/cpu/index.js';
import { PRIMITIVE_KERNELS } from '../backend/primitives.js';
import { backendByName, hasKernel, kernelsFor } from '../backend/registry.js';
import type { DType } from '../tensor/dtype.js';
import { copyCases, copyOtherDTypeCases, castFloatCases, castOtherDTypeCases, fillCases, fillOtherDTypeCases, randomCases } from './cases-data.js';
import { binaryCases, compareCases, unaryCases, whereCases } from './cases-elementwise.js';
import { gatherCases, matmulCases, crossEntropyCases, normCases, reduceCases, scatterAddCases, softmaxCases } from './cases-structural.js';
import { composedCases } from './cases-composed.js';
import { attentionCases } from './cases-attention.js';
import { checkCase, type KernelCase } from './runner.js';
import type { Tolerance } from './compare.js';

export { compareArrays, coordsOf, scaleAtol, EXACT, type CompareResult, type CompareOptions, type Tolerance } from './compare.js';
export { defaultTolerance, resolveTolerance, F32_ARITH, F32_TRANSCENDENTAL, F32_FUSED, F32_RANDOM, F64_INEXACT } from './tolerances.js';
export { checkCase, evaluateCase, type KernelCase, type CaseContext, type CaseOutput, type CaseReport, type CaseEvaluation, type CheckOptions, type HostArray } from './runner.js';
export { layoutFor, type Layout, type LayoutSpec } from './layouts.js';

export interface ConformanceOptions {
  /** Name of the backend under test (already registered via registerBackend / registerBackendInstance, or by `setup`). */
  backend: string;
  /** Reference backend name, default 'cpu-ref'. */
  reference?: string;
  /**
   * Per-kernel tolerance overrides {atol, rtol}, keyed by kernel name ('exp')
   * or kernel and dtype ('exp:f32'); composed cases use their group name
   * ('linear+gelu', 'attention (autograd)', …). An override replaces the
   * default {atol, rtol}; cases whose error grows with a reduction length still
   * multiply atol by their stated factor (√k for matmul, √reduce for sum, …).
   * Defaults: see tolerances.ts (f32: exact for data movement and selection,
   * 1e-7/1e-6 for single IEEE ops, 1e-6/1e-5 for transcendentals, 1e-5/1e-4
   * for fused kernels).
   */
  tolerances?: Record<string, Tolerance>;
  /** Float dtypes to test (default ['f32']); the reference backend also supports 'f64'. */
  dtypes?: DType[];
  /** Optional async setup (e.g. create a WebGPU device), run in beforeAll. */
  setup?: () => Promise<void> | void;
}

/**
 * Kernel cases of one float dtype, grouped by kernel name (PRIMITIVE_KERNELS
 * order, then the optional kernels, whose cases skip on backends without them).
 */
export function kernelCases(dtype: DType): Map<string, KernelCase[]> {
  const all = [
    ...unaryCases(dtype), ...binaryCases(dtype), ...compareCases(dtype), ...reduceCases(dtype),
    ...fillCases(dtype), ...randomCases(dtype), ...copyCases(dtype), ...castFloatCases(dtype), ...whereCases(dtype),
    ...matmulCases(dtype), ...gatherCases(dtype), ...scatterAddCases(dtype), ...softmaxCases(dtype),
    ...normCases(dtype), ...crossEntropyCases(dtype), ...attentionCases(dtype),
  ];
  return groupByKernel(all);
}

/** Cases that do not depend on the float dtype under test: integer and f16/bf16 copy, cast and fill. */
export function dtypeCases(): Map<string, KernelCase[]> {
  return groupByKernel([...copyOtherDTypeCases(), ...castOtherDTypeCases(), ...fillOtherDTypeCases()]);
}

export { composedCases };

function groupByKernel(cases: KernelCase[]): Map<string, KernelCase[]> {
  const byKernel = new Map<string, KernelCase[]>();
  for (const k of PRIMITIVE_KERNELS) byKernel.set(k, []);
  for (const c of cases) {
    if (!byKernel.has(c.kernel)) byKernel.set(c.kernel, []);
    byKernel.get(c.kernel)!.push(c);
  }
  for (const [k, v] of byKernel) if (v.length === 0) byKernel.delete(k);
  return byKernel;
}

/** Number of cases `describeConformance` defines for these dtypes (besides the registration checks). */
export function conformanceCaseCount(dtypes: DType[] = ['f32']): number {
  let n = [...dtypeCases().values()].reduce((s, v) => s + v.length, 0);
  for (const d of dtypes) {
    n += [...kernelCases(d).values()].reduce((s, v) => s + v.length, 0);
    n += composedCases(d).length;
  }
  return n;
}

/** Primitive kernels not registered for a backend (empty for a complete backend). */
export function missingKernels(backend: string): string[] {
  return PRIMITIVE_KERNELS.filter((k) => !hasKernel(k, backend));
}

function defineCase(c: KernelCase, opts: ConformanceOptions, label = c.name): void {
  it(label, async (ctx) => {
    const report = await checkCase(c, { backend: opts.backend, reference: opts.reference, tolerances: opts.tolerances });
    if (report.skipped) ctx.skip(report.skipped);
    expect(report.ok, report.message).toBe(true);
  });
}

/**
 * Defines the conformance suite as vitest `describe`/`it` blocks for
 * `opts.backend`, compared with `opts.reference` ('cpu-ref').
 */
export function describeConformance(opts: ConformanceOptions): void {
  const reference = opts.reference ?? 'cpu-ref';
  const dtypes = opts.dtypes ?? ['f32'];
  describe(`backend conformance: '${opts.backend}' vs reference '${reference}'`, () => {
    beforeAll(async () => {
      registerCpuBackend();
      await opts.setup?.();
    });

    describe('registration', () => {
      it('registers every primitive kernel', () => {
        const missing = missingKernels(opts.backend);
        const msg =
          `backend '${opts.backend}' is missing ${missing.length} of ${PRIMITIVE_KERNELS.length} primitive kernels: ${missing.join(', ')}` +
          ` (registered: ${kernelsFor(opts.backend).join(', ') || 'none'})`;
        expect(missing, msg).toEqual([]);
      });
      it(`stores the dtypes under test (${dtypes.join(', ')}), u8 and i32`, () => {
        const b = backendByName(opts.backend);
        expect(b.name, `backendByName('${opts.backend}') returned a backend named '${b.name}'; kernels are looked up by the instance's name`).toBe(opts.backend);
        const unsupported = [...new Set<DType>([...dtypes, 'u8', 'i32'])].filter((d) => !b.supportsDType(d));
        expect(unsupported, `backend '${opts.backend}' does not support ${unsupported.join(', ')}`).toEqual([]);
      });
    });

    for (const dtype of dtypes) {
      describe(`primitive kernels (${dtype})`, () => {
        for (const [kernel, cases] of kernelCases(dtype)) {
          describe(kernel, () => {
            for (const c of cases) defineCase(c, opts);
          });
        }
      });
    }

    describe('dtype conversions and data movement (integer, f16, bf16)', () => {
      for (const [kernel, cases] of dtypeCases()) {
        describe(kernel, () => {
          for (const c of cases) defineCase(c, opts, kernel === 'cast' ? c.name : `${c.dtype}: ${c.name}`);
        });
      }
    });

    describe('composed ops and autograd', () => {
      for (const dtype of dtypes) {
        describe(dtype, () => {
          for (const c of composedCases(dtype)) defineCase(c, opts);
        });
      }
    });
  });
}
