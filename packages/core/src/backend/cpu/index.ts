/**
 * The reference CPU backend ('cpu-ref'): typed-array storage plus a kernel
 * for every primitive in primitives.ts. `registerCpuBackend()` installs both.
 */
export { CpuBackend, registerCpuBackend } from './cpu-backend.js';
export { cpuKernels, registerCpuKernels } from './kernels.js';
export { erf, erfc } from './special-math.js';
