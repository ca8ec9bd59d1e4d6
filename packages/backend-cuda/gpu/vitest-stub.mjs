// Stand-in for vitest in the GPU bundle (scripts/carry-gpu.mjs): core's
// conformance module defines suites when imported, which check.ts never runs.
const noop = () => {};
export const describe = noop;
export const it = Object.assign(noop, { skip: noop });
export const beforeAll = noop;
export const afterAll = noop;
export const expect = () => ({ toBe: noop, toEqual: noop });
