/**
 * Loading and registration: the addon reports its ISA and threads; a missing,
 * unbuilt or broken addon is reported with its reason and never throws; the
 * install script never fails; every primitive kernel is registered for 'cpu'
 * exactly as the README's table says; layouts coalesce like core's.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PRIMITIVE_KERNELS, getKernel, hasKernel, type View } from '@adapterkit/core';
import { KERNEL_IMPLEMENTATIONS, MAX_DIMS, layoutOf, loadCpuAddon, registerFastCpuBackend } from '../src/index.js';
import { requireFastCpu } from './helpers.js';

requireFastCpu();
const root = join(import.meta.dirname, '..');

describe('loading the addon', () => {
  it('reports the active ISA level and thread count', () => {
    const s = loadCpuAddon();
    expect(s.available).toBe(true);
    const info = s.addon!.info();
    expect(info.isas.at(-1)).toBe('scalar');
    expect(info.isas).toContain(info.isa);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(registerFastCpuBackend()).toMatchObject({ available: true, isa: info.isa });
  });

  it('reports a missing addon with the build hint instead of throwing', () => {
    const s = loadCpuAddon({ path: join(tmpdir(), 'no-such-dir', 'Release', 'adapterkit_cpu.node') });
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/not found at .*no-such-dir.*build:native/);
  });

  it('reports a file that is not an addon as a load failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'backend-cpu-bad-'));
    try {
      const path = join(dir, 'adapterkit_cpu.node');
      writeFileSync(path, 'not a shared library');
      const s = loadCpuAddon({ path });
      expect(s.available).toBe(false);
      expect(s.reason).toMatch(/failed to load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the install script never fails, and its recorded reason is what loading reports', () => {
    // A copy of the package without node_modules: cmake-js cannot be found
    // (NODE_PATH, which pnpm's bin shims set, would let it find the workspace's).
    const dir = mkdtempSync(join(tmpdir(), 'backend-cpu-install-'));
    const env = { ...process.env };
    delete env.NODE_PATH;
    try {
      for (const f of ['package.json', 'CMakeLists.txt', 'scripts', 'native']) cpSync(join(root, f), join(dir, f), { recursive: true });
      const res = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], { cwd: dir, encoding: 'utf8', env });
      expect(res.status, res.stderr).toBe(0);
      const errorFile = join(dir, 'build', 'native-build-error.txt');
      expect(existsSync(errorFile)).toBe(true);
      expect(readFileSync(errorFile, 'utf8')).toMatch(/cmake-js is not installed/);
      const s = loadCpuAddon({ path: join(dir, 'build', 'Release', 'adapterkit_cpu.node') });
      expect(s).toMatchObject({ available: false });
      expect(s.reason).toMatch(/native addon was not built: cmake-js is not installed/);
      // --strict (build:native) fails loudly instead.
      const strict = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs'), '--strict'], { cwd: dir, encoding: 'utf8', env });
      expect(strict.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kernels called from several Node worker threads at once do not interfere', () => {
    const res = spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'gemm-threads.mjs')], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout.trim())).toEqual([0, 0, 0]);
  });

  it('selecting an ISA level the CPU lacks is an error naming the available ones', () => {
    const addon = loadCpuAddon().addon!;
    expect(() => addon.setIsa('sse9')).toThrow(/not available.*available: .*scalar/);
  });
});

describe('kernel registration', () => {
  it("registers every primitive kernel for 'cpu', and the table covers exactly those", () => {
    for (const k of PRIMITIVE_KERNELS) expect(hasKernel(k, 'cpu'), k).toBe(true);
    expect(Object.keys(KERNEL_IMPLEMENTATIONS).sort()).toEqual([...PRIMITIVE_KERNELS].sort());
  });

  it("kernels listed as 'ts' for f32 are the reference kernels themselves; native ones are not", () => {
    for (const [k, impl] of Object.entries(KERNEL_IMPLEMENTATIONS)) {
      const same = getKernel(k, 'cpu') === getKernel(k, 'cpu-ref');
      expect(same, k).toBe(impl.f32 === 'ts');
    }
  });

  it("the README's kernel table matches KERNEL_IMPLEMENTATIONS", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const rows = new Map<string, [string, string]>();
    for (const m of readme.matchAll(/^\| `(\w+)` \| (native|ts) \| (native|ts) \|/gm)) rows.set(m[1]!, [m[2]!, m[3]!]);
    for (const [k, impl] of Object.entries(KERNEL_IMPLEMENTATIONS)) {
      expect(rows.get(k), `README row for '${k}'`).toEqual([impl.f32, impl.otherDTypes]);
    }
    expect(rows.size).toBe(PRIMITIVE_KERNELS.length);
  });
});

describe('layoutOf', () => {
  const view = (shape: number[], strides: number[], offset = 0): View =>
    ({ storage: null as never, dtype: 'f32', shape, strides, offset });

  it('merges contiguous axes into one run and drops size-1 axes', () => {
    expect(Array.from(layoutOf([view([2, 3, 4], [12, 4, 1]), view([2, 3, 4], [12, 4, 1], 5)])!)).toEqual([1, 24, 0, 1, 5, 1]);
    expect(Array.from(layoutOf([view([1, 5, 1], [5, 1, 1]), view([1, 5, 1], [0, 2, 0], 3)])!)).toEqual([1, 5, 0, 1, 3, 2]);
  });

  it('keeps a row broadcast as two axes and merges a full broadcast', () => {
    expect(Array.from(layoutOf([view([4, 6], [6, 1]), view([4, 6], [0, 1])])!)).toEqual([2, 4, 6, 0, 6, 1, 0, 0, 1]);
    expect(Array.from(layoutOf([view([4, 6], [6, 1]), view([4, 6], [0, 0])])!)).toEqual([1, 24, 0, 1, 0, 0]);
  });

  it('returns null past MAX_DIMS or for mismatched shapes, and an empty layout for size 0', () => {
    const rank = MAX_DIMS + 1;
    const shape = new Array<number>(rank).fill(2);
    const strides = shape.map((_, i) => 2 ** (2 * (rank - i))); // never mergeable
    expect(layoutOf([view(shape, strides), view(shape, strides)])).toBeNull();
    expect(layoutOf([view([2, 3], [3, 1]), view([3, 2], [2, 1])])).toBeNull();
    expect(Array.from(layoutOf([view([0, 3], [3, 1]), view([0, 3], [3, 1])])!)).toEqual([1, 0, 0, 0, 0, 0]);
  });
});

describe('memory pool', () => {
  it('reuses freed arrays of one dtype and size, counts them as pooled, and poisons them in tests', async () => {
    const { FastCpuBackend } = await import('../src/index.js');
    const b = new FastCpuBackend({ poolBytes: 1 << 20, poison: true });
    const s1 = b.alloc('f32', 8192);
    (s1.handle as Float32Array).fill(3);
    const arr = s1.handle;
    b.free(s1);
    expect(b.memory()).toEqual({ liveBytes: 0, liveBuffers: 0, pooledBytes: 32768 });
    const s2 = b.alloc('f32', 8192);
    expect(s2.handle).toBe(arr);
    expect(Number.isNaN((s2.handle as Float32Array)[0])).toBe(true);
    expect(b.memory()).toEqual({ liveBytes: 32768, liveBuffers: 1, pooledBytes: 0 });
    // other sizes, dtypes and small arrays are not taken from the pool
    b.free(s2);
    expect(b.alloc('f32', 8191).handle).not.toBe(arr);
    expect(b.alloc('i32', 8192).handle).not.toBe(arr);
    // over the limit, the least recently freed arrays go first
    const big = [b.alloc('f32', 100_000), b.alloc('f32', 100_000), b.alloc('f32', 100_000)];
    for (const s of big) b.free(s);
    expect(b.memory().pooledBytes).toBeLessThanOrEqual(1 << 20);
    b.releasePooled();
    expect(b.memory().pooledBytes).toBe(0);
  });
});
