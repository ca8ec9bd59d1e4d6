import { hash2, normalAt, uniformAt } from '../random/hash.js';

/**
 * Seeded host data for conformance inputs. Everything is a pure function of
 * a seed (the counter-based hash of random/hash.ts), never Math.random, so a
 * failing case reproduces exactly on every machine.
 */

/** A 32-bit seed from a string (the case id), so each case gets its own stream. */
export function seedOf(text: string): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) h = hash2(h, text.charCodeAt(i));
  return h >>> 0;
}

/** n values uniform in [low, high). */
export function uniformData(seed: number, n: number, low = -1, high = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * uniformAt(seed, i);
  return out;
}

/** n values normal(mean, std). */
export function normalData(seed: number, n: number, mean = 0, std = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * normalAt(seed, i);
  return out;
}

/** n integers uniform in [low, high). */
export function intData(seed: number, n: number, low: number, high: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + Math.floor(uniformAt(seed, i) * (high - low));
  return out;
}

/** n values with random sign and magnitude in [low, high) (keeps away from zero). */
export function signedMagnitudeData(seed: number, n: number, low: number, high: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sign = hash2(seed ^ 0x51ed270b, i) & 1 ? -1 : 1;
    out[i] = sign * (low + (high - low) * uniformAt(seed, i));
  }
  return out;
}

/** Sets every `every`-th element (starting at `start`) to `value`: exact zeros, ties, etc. */
export function sprinkle<T extends Float64Array | Int32Array>(data: T, every: number, value: number, start = 0): T {
  for (let i = start; i < data.length; i += every) data[i] = value;
  return data;
}

/** Values on a coarse grid (k/step for integers k in [low, high)), so comparisons and maxima see ties. */
export function gridData(seed: number, n: number, low: number, high: number, step = 2): Float64Array {
  const ints = intData(seed, n, low, high);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ints[i]! / step;
  return out;
}
