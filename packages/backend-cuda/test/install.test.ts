/**
 * The install script (scripts/build-native.mjs) never fails `pnpm install`:
 * without a CUDA toolkit (as on CI) it records why the native build was
 * skipped and exits 0; `--strict` (build:native) fails instead. Builds go to
 * a temporary folder (--out), leaving the package's build/ alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/build-native.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'adapterkit-cuda-install-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function install(env: Record<string, string>, ...args: string[]): { status: number | null; output: string; recorded: string | null } {
  const res = spawnSync(process.execPath, [SCRIPT, '--out', out, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  const file = join(out, 'native-build-error.txt');
  return { status: res.status, output: `${res.stdout}${res.stderr}`, recorded: existsSync(file) ? readFileSync(file, 'utf8') : null };
}

describe('install script without a CUDA toolkit', () => {
  it('skips the native build, records why, and exits 0', () => {
    const r = install({ ADAPTERKIT_CUDA_HOME: '/nonexistent/cuda' });
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/native addon not built/);
    expect(r.recorded).toMatch(/ADAPTERKIT_CUDA_HOME=\/nonexistent\/cuda: the folder does not exist/);
    expect(existsSync(join(out, 'Release', 'adapterkit_cuda.node'))).toBe(false);
  });

  it('names the missing headers of an incomplete toolkit', () => {
    const r = install({ ADAPTERKIT_CUDA_HOME: out });
    expect(r.status, r.output).toBe(0);
    expect(r.recorded).toMatch(/cuda\.h, cuda_runtime_api\.h, crt\/host_defines\.h, nv\/target, cublas_v2\.h, nvrtc\.h not found/);
  });

  it('honours ADAPTERKIT_CUDA_SKIP_NATIVE=1', () => {
    const r = install({ ADAPTERKIT_CUDA_SKIP_NATIVE: '1' });
    expect(r.status).toBe(0);
    expect(r.recorded).toMatch(/skipped: ADAPTERKIT_CUDA_SKIP_NATIVE=1/);
  });

  it('fails with --strict (the build:native script)', () => {
    const r = install({ ADAPTERKIT_CUDA_HOME: '/nonexistent/cuda' }, '--strict');
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/native build failed/);
  });
});
