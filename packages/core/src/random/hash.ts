/**
 * Counter-based random numbers: element i of a random kernel call with
 * (seed, counter) is a pure function of (seed, counter + i). Every backend
 * implements the same integer hash (only u32 multiply, xor and shifts, which
 * WGSL, CUDA and JS all have), so the same seed gives the same numbers on
 * every backend, and dropout masks can be recomputed (checkpointing).
 */

/** One round of the "lowbias32" integer mixer (Chris Wellons' hash-prospector). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 32 random bits for (seed, index). */
export function hash2(seed: number, index: number): number {
  return mix32((mix32(seed >>> 0) ^ (index >>> 0)) >>> 0);
}

/** Uniform float in [0, 1) with 24 bits of precision, identical in f32 on every backend. */
export function uniformAt(seed: number, index: number): number {
  return (hash2(seed, index) >>> 8) / 16777216;
}

/** Seed of the normal stream, kept apart from the uniform stream so the two never correlate. */
const NORMAL_STREAM = 0x5bd1e995;

/**
 * Standard normal for (seed, index) by Box–Muller over indices 2·index and
 * 2·index+1 (mod 2^32) of a separate stream (seed ^ NORMAL_STREAM).
 */
export function normalAt(seed: number, index: number): number {
  const s = (seed ^ NORMAL_STREAM) >>> 0;
  const u1 = uniformAt(s, (2 * index) >>> 0);
  const u2 = uniformAt(s, (2 * index + 1) >>> 0);
  // 1 - u1 lies in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}
