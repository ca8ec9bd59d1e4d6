/**
 * Every built-in kernel source compiles with NVRTC for sm_90 (Hopper) — this
 * needs libnvrtc but no driver and no GPU, so it catches syntax and type
 * errors in the CUDA C on any machine with the toolkit (see DEVELOPERS.md).
 * Without NVRTC the tests are skipped with the reason in their names.
 */
import { describe, expect, it } from 'vitest';
import { CudaCompileError, NvrtcCompiler, builtinKernelSources, chooseTarget, nvrtcStatus, precompileCudaKernels, CUDA_PRELUDE } from '../src/index.js';

const nv = nvrtcStatus();
const test = nv.available ? it : it.skip;
const why = nv.available ? '' : ` (skipped — NVRTC unavailable: ${nv.reason})`;
if (!nv.available) console.warn(`[backend-cuda] NVRTC compile tests skipped: ${nv.reason}`);

function compiler(): NvrtcCompiler {
  // The default disk cache: a source that compiled before (same NVRTC, options, text) is not compiled again.
  return new NvrtcCompiler(nv.addon!, chooseTarget(90, nv.archs!), nv.version!);
}

/** Whether an ELF image holds a symbol name (its string table does). */
function hasSymbol(image: Uint8Array, name: string): boolean {
  return Buffer.from(image).includes(Buffer.from(`\0${name}\0`));
}

describe(`NVRTC compiles the built-in kernels for sm_90${why}`, () => {
  test('every source variant compiles to a cubin with its entry points', async () => {
    const c = compiler();
    const sources = builtinKernelSources();
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sources.length) {
        const s = sources[next++]!;
        try {
          const r = await c.compileAsync(s.key.replace(/[^A-Za-z0-9_.-]/g, '_'), s.source);
          expect(r.target.kind).toBe('cubin');
          for (const e of s.entries) if (!hasSymbol(r.image, e)) failures.push(`${s.key}: entry '${e}' missing from the cubin`);
        } catch (e) {
          failures.push(`${s.key}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    await Promise.all([worker(), worker()]);
    console.log(`compiled ${sources.length} kernel variants for sm_90 with NVRTC ${nv.version!.join('.')}`);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });

  test('a source with an error fails with the compiler log', () => {
    const bad = `${CUDA_PRELUDE}\nextern "C" __global__ void k(float* y) { y[0] = undefined_name; }`;
    expect(() => compiler().compile('bad', bad)).toThrow(CudaCompileError);
    expect(() => compiler().compile('bad', bad)).toThrow(/undefined_name/);
  });

  test('precompileCudaKernels reports no failures and caches on disk', async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'adapterkit-cuda-cache-'));
    try {
      const c = new NvrtcCompiler(nv.addon!, chooseTarget(90, nv.archs!), nv.version!, { cacheDir: dir });
      const src = `${CUDA_PRELUDE}\nextern "C" __global__ void k(float* y) { y[threadIdx.x] = 1.0f; }`;
      expect(c.compile('one', src).from).toBe('nvrtc');
      expect(c.compile('one', src).from).toBe('memory');
      const fresh = new NvrtcCompiler(nv.addon!, chooseTarget(90, nv.archs!), nv.version!, { cacheDir: dir });
      expect(fresh.compile('one', src).from).toBe('disk');
      expect(readdirSync(dir).filter((f) => f.endsWith('.cubin'))).toHaveLength(1);
      // A device NVRTC does not know gets PTX for the newest arch it knows.
      const ptx = new NvrtcCompiler(nv.addon!, chooseTarget(999, nv.archs!), nv.version!, { cacheDir: null }).compile('one', src);
      expect(ptx.target.kind).toBe('ptx');
      expect(Buffer.from(ptx.image).toString('latin1')).toMatch(/\.entry k\(/);
      expect(ptx.image[ptx.image.length - 1]).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(`precompileCudaKernels${why}`, () => {
  test('exists for warming the cache on a GPU machine', () => {
    expect(typeof precompileCudaKernels).toBe('function');
  });
});
