import { describeConformance } from '@adapterkit/core/conformance';
import { initWebGpu } from './setup.js';

/**
 * Every primitive kernel of 'webgpu' against the reference 'cpu-ref', with the
 * suite's default f32 tolerances (no overrides: the WGSL math library is
 * accurate enough for the TRANSCENDENTAL class, sin/cos included).
 */
describeConformance({
  backend: 'webgpu',
  setup: async () => {
    await initWebGpu();
  },
});
