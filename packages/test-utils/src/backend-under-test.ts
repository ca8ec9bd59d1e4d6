/**
 * The backend a test run targets. Package test runs use the reference
 * backend; `packages/webgpu-suite` runs the same files with
 * ADAPTERKIT_TEST_BACKEND=webgpu after registering the WebGPU backend.
 */
export const TEST_BACKEND: string = process.env.ADAPTERKIT_TEST_BACKEND ?? 'cpu-ref';

/** True when the run targets a backend without f64 (f64-only checks say so and skip). */
export const TEST_BACKEND_HAS_F64: boolean = TEST_BACKEND === 'cpu-ref' || TEST_BACKEND === 'cpu';
