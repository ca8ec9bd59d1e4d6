/**
 * The WebAssembly path (`@adapterkit/backend-cpu/wasm`), run in Node (which
 * has WebAssembly SIMD): the conformance suite on a backend registered as
 * 'cpu-wasm', the WebAssembly GEMM against the reference on odd shapes,
 * transposes and batch broadcasts, the committed module against a fresh
 * `asc` build, and the browser entry's freedom from Node imports.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRIMITIVE_KERNELS, getKernel } from '@adapterkit/core';
import { describeConformance } from '@adapterkit/core/conformance';
import { registerWasmCpuBackend, WASM_KERNEL_IMPLEMENTATIONS } from '../src/wasm/index.js';
import { GEMM_WASM_BASE64 } from '../src/wasm/gemm-module.js';
import { compareGemm, type GemmCase } from './helpers.js';

const root = join(import.meta.dirname, '..');
const NAME = 'cpu-wasm';

async function setup(): Promise<void> {
  const r = await registerWasmCpuBackend({ name: NAME });
  if (!r.available) throw new Error(`WebAssembly backend unavailable: ${r.reason}`);
}

describeConformance({ backend: NAME, setup });

describe('WebAssembly GEMM', () => {
  beforeAll(setup);

  const cases: GemmCase[] = [];
  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    for (const [m, k, n] of [[1, 1, 1], [3, 300, 5], [7, 3, 17], [13, 257, 33], [64, 64, 64], [130, 513, 61], [37, 100, 2100]] as const) {
      cases.push({ batch: 1, m, k, n, transA, transB });
    }
    cases.push({ batch: 3, m: 19, k: 40, n: 23, transA, transB, offset: 5 });
    cases.push({ batch: 4, m: 11, k: 70, n: 35, transA, transB, aBroadcast: true });
    cases.push({ batch: 4, m: 11, k: 70, n: 35, transA, transB, bBroadcast: true });
  }
  it.each(cases.map((c, i) => [`${c.transA ? 'Aᵀ' : 'A'}·${c.transB ? 'Bᵀ' : 'B'} batch ${c.batch} ${c.m}×${c.k}×${c.n}${c.aBroadcast ? ' A-bcast' : c.bBroadcast ? ' B-bcast' : ''}`, c, i] as const))(
    '%s matches the reference',
    (_n, c, i) => {
      const r = compareGemm(NAME, c, 500 + i);
      expect(r.ratio, `max |Δ| ${r.maxAbs}`).toBeLessThanOrEqual(1);
    },
  );

  it('only matmul runs in WebAssembly; every other kernel is the reference kernel', () => {
    for (const k of PRIMITIVE_KERNELS) {
      expect(getKernel(k, NAME) === getKernel(k, 'cpu-ref'), k).toBe(WASM_KERNEL_IMPLEMENTATIONS[k]!.f32 === 'ts');
    }
  });
});

describe('WebAssembly build', () => {
  it('the committed module is what scripts/build-wasm.mjs builds from wasm/gemm.ts', () => {
    const env = { ...process.env };
    const res = spawnSync(process.execPath, [join(root, 'scripts', 'build-wasm.mjs'), '--print'], { cwd: root, encoding: 'utf8', env });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout, 'run `pnpm --filter @adapterkit/backend-cpu build:wasm` and commit src/wasm/gemm-module.ts').toBe(GEMM_WASM_BASE64);
  });

  it('the browser entry and the modules it imports use nothing from Node', () => {
    for (const f of ['src/wasm/index.ts', 'src/wasm/register.ts', 'src/wasm/wasm-gemm.ts', 'src/wasm/gemm-module.ts', 'src/backend.ts', 'src/kernels/common.ts']) {
      expect(readFileSync(join(root, f), 'utf8'), f).not.toMatch(/from '(node:|fs|path|module|url)/);
    }
  });
});
