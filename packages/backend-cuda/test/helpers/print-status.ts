/**
 * Run in a child process by availability.test.ts: imports the package (and
 * so loads the native addon and probes CUDA), prints what it found as one
 * JSON line, and exits normally. On a machine without a driver or GPU this
 * must neither crash nor throw.
 */
import { backendByName } from '@adapterkit/core';
import { cuda, cudaStatus, nvrtcStatus, registerCudaBackend } from '../../src/index.js';

const reg = registerCudaBackend();
let backendError: string | null = null;
try {
  backendByName('cuda');
} catch (e) {
  backendError = e instanceof Error ? e.message : String(e);
}
const s = cudaStatus();
const nv = nvrtcStatus();
console.log(
  JSON.stringify({
    available: cuda.available,
    reason: cuda.reason ?? null,
    registered: reg.available,
    registrationReason: reg.reason ?? null,
    backendError,
    libraries: s.libraries,
    nvrtc: { available: nv.available, reason: nv.reason ?? null, version: nv.version ?? null },
  }),
);
