/**
 * Loading the package on any machine — with or without a driver, GPU or
 * native build — must not crash the process: a child `node` imports it and
 * prints `available` / `reason`, and must exit with code 0. Runs everywhere
 * (CI has no GPU and no toolkit).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./helpers/print-status.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');

interface Printed {
  available: boolean;
  reason: string | null;
  registered: boolean;
  registrationReason: string | null;
  backendError: string | null;
  libraries: Record<string, string>;
  nvrtc: { available: boolean; reason: string | null; version: [number, number] | null };
}

function run(env: Record<string, string | undefined>): { status: number | null; signal: NodeJS.Signals | null; out: Printed | null; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', TSX, SCRIPT], { cwd: PKG, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  const line = res.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return { status: res.status, signal: res.signal, out: line ? (JSON.parse(line) as Printed) : null, stderr: res.stderr };
}

describe('loading @adapterkit/backend-cuda in a child process', () => {
  it('exits with code 0 and reports available, or the exact reason it is not', () => {
    const r = run({});
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.out, r.stderr).not.toBeNull();
    const out = r.out!;
    console.log(`cuda.available = ${out.available}${out.reason ? `; reason: ${out.reason}` : ''}`);
    console.log(`nvrtc.available = ${out.nvrtc.available}${out.nvrtc.reason ? `; reason: ${out.nvrtc.reason}` : ` (NVRTC ${out.nvrtc.version?.join('.')})`}`);
    expect(out.registered).toBe(out.available);
    if (out.available) {
      expect(out.reason).toBeNull();
      expect(out.backendError).toBeNull();
    } else {
      expect(out.reason).toMatch(/\S/);
      expect(out.registrationReason).toBe(out.reason);
      expect(out.backendError).toMatch(/unknown backend 'cuda'/);
    }
  });

  it('names a missing driver as such when the addon loads but libcuda.so.1 does not', () => {
    // A driver path that cannot exist: the probe must stop at the driver with that reason.
    const r = run({ ADAPTERKIT_CUDA_DRIVER_LIB: '/nonexistent/libcuda.so.1' });
    expect(r.status, r.stderr).toBe(0);
    const out = r.out!;
    expect(out.available).toBe(false);
    expect(out.reason).toMatch(/^(libcuda\.so\.1 not found: no NVIDIA driver|native addon)/);
  });

  it('reports a missing native build with the install script’s reason, not a crash', () => {
    const r = run({ ADAPTERKIT_CUDA_ADDON: '/nonexistent/build/Release/adapterkit_cuda.node' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.out!.available).toBe(false);
    expect(r.out!.reason).toMatch(/native addon not found at \/nonexistent/);
    expect(r.out!.nvrtc.available).toBe(false);
  });

  it('can be disabled on purpose', () => {
    const r = run({ ADAPTERKIT_CUDA_DISABLE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.out!.available).toBe(false);
    expect(r.out!.reason).toMatch(/disabled by ADAPTERKIT_CUDA_DISABLE=1|native addon/);
  });
});
