/**
 * Core's backend conformance suite for 'cuda' against 'cpu-ref': every
 * primitive kernel on contiguous, strided, broadcast and offset views (f32),
 * integer/f16/bf16 data movement, and composed ops with autograd. Default
 * tolerances: CUDA's accurate f32 math functions (no fast-math) are within
 * the TRANSCENDENTAL class, and the fused kernels accumulate in f32/f64 trees.
 *
 * Without a usable GPU the suite is one skipped test whose name carries the
 * reason (vitest prints it), never a silent pass.
 */
import { describeConformance } from '@adapterkit/core/conformance';
import { describe, it } from 'vitest';
import { registerCudaBackend } from '../src/index.js';

const cuda = registerCudaBackend();

if (cuda.available) {
  describeConformance({ backend: 'cuda' });
} else {
  console.warn(`[backend-cuda] conformance suite skipped: ${cuda.reason}`);
  describe("backend conformance: 'cuda'", () => {
    it.skip(`skipped — CUDA unavailable: ${cuda.reason}`, () => {});
  });
}
